package callctl

// growStack makes the calling goroutine's stack at least about 8 KiB, in
// one step, while the goroutine is still shallow (signaling has the same
// helper and the reason: a stack grown deep in the call path costs a walk
// over every frame on it, issue #8). The call loop places the outbound
// INVITE (dial plan, routing, sipgo's client transaction and its send)
// on a new goroutine.
//
//go:noinline
func growStack() {
	var pad [6 << 10]byte
	pad[0], pad[len(pad)-1] = 1, 1
	sink(&pad)
}

//go:noinline
func sink(*[6 << 10]byte) {}
