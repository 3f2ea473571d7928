package signaling

import (
	"net"
	"testing"
)

// TestFrontSockAllocatesNothing: a datagram sent and one received cost no
// allocation (each was three, for the closures RawConn calls).
func TestFrontSockAllocatesNothing(t *testing.T) {
	a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sa, sb := newFrontSock(a), newFrontSock(b)
	to := b.LocalAddr().(*net.UDPAddr).AddrPort()
	msg, buf := []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"), make([]byte, 1500)
	allocs := testing.AllocsPerRun(200, func() {
		if err := sa.send(msg, to); err != nil {
			t.Fatal(err)
		}
		n, from, fill, _, err := sb.recv(buf, true)
		if err != nil || n != len(msg) || from.Port() != uint16(a.LocalAddr().(*net.UDPAddr).Port) || fill < 0 {
			t.Fatalf("recv: %d bytes from %v, fill %d, %v", n, from, fill, err)
		}
	})
	if allocs > 0 && !raceEnabled {
		t.Fatalf("%.1f allocations per datagram sent and received, want 0", allocs)
	}
}
