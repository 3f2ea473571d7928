//go:build !mediaportable

package media

import (
	"net/netip"
	"testing"
	"unsafe"
)

// Tests of the epoll forwarder's internals (poller_linux.go, sock_linux.go).

// Packets that queue up on a socket while the poller is busy are read in
// batches (recvmmsg, more than one batch here) and sent in one sendmmsg, in
// order, each counted once.
func TestForwardingBatch(t *testing.T) {
	r, _ := newTestRelay(t, 2)
	s, _ := r.NewSession("batch")
	defer s.Close()
	caller, callee := newPeer(t), newPeer(t)
	mustRewrite(t, s, SideA, audioSDP(caller.port(), ""))
	mustRewrite(t, s, SideB, audioSDP(callee.port(), ""))
	toA := fillPort(t, s, SideA)

	// Hold the poller between rounds: the packets wait in the socket.
	s.mu.Lock()
	p := s.streams[0].poller
	s.mu.Unlock()
	p.mu.Lock()
	const n = 2*batch + 3
	var sent [][]byte
	for i := range n {
		pkt := rtpPacket(t, uint16(i))
		caller.send(toA, pkt)
		sent = append(sent, pkt)
	}
	p.mu.Unlock()
	for _, want := range sent {
		callee.expect(want)
	}
	waitFor(t, "stats", func() bool { st := s.Stats(); return st.PacketsAtoB == n && st.Dropped == 0 })
}

// Source and destination addresses in the kernel's format, both families;
// IPv4 peers of an IPv6 socket are v4-mapped on the wire and plain IPv4
// in the relay.
func TestRawSockaddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		v6sock bool
		ok     bool
	}{
		{"127.0.0.1:4000", false, true},
		{"192.0.2.7:65535", false, true},
		{"[2001:db8::1]:5004", false, false},
		{"[2001:db8::1]:5004", true, true},
		{"192.0.2.7:1", true, true},
	} {
		dst := netip.MustParseAddrPort(tc.addr)
		var a rawSockaddr
		if got := a.set(dst, tc.v6sock); got != tc.ok {
			t.Errorf("%s (v6 socket %v): set = %v, want %v", tc.addr, tc.v6sock, got, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if back := addrOfRaw(&a.buf); back != dst {
			t.Errorf("%s (v6 socket %v): decoded as %s", tc.addr, tc.v6sock, back)
		}
		// The port is in network byte order.
		if p := (*[4]byte)(unsafe.Pointer(&a.buf)); int(p[2])<<8|int(p[3]) != int(dst.Port()) {
			t.Errorf("%s: port bytes %x", tc.addr, p[2:4])
		}
	}
	var zero rawSockaddr
	if addrOfRaw(&zero.buf).IsValid() {
		t.Error("unknown family decoded as a valid address")
	}
}
