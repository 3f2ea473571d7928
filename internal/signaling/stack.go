package signaling

// growStack makes the calling goroutine's stack at least about 8 KiB, in
// one step, while the goroutine is still shallow.
//
// sipgo runs every message on a new goroutine, which starts with a small
// stack. The INVITE path (digest, routing, the outbound leg) needs more,
// and the runtime grows a stack by copying it and walking every frame on
// it: done deep in the call path, one or two such copies cost more than the
// rest of the handler's bookkeeping (issue #8 profile: runtime.newstack).
// A large frame at the top of the handler moves the one copy to where the
// stack has only a handful of frames.
//
//go:noinline
func growStack() {
	var pad [6 << 10]byte
	pad[0], pad[len(pad)-1] = 1, 1
	keepPad(&pad)
}

//go:noinline
func keepPad(*[6 << 10]byte) {}
