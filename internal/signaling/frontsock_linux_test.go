package signaling

import (
	"net"
	"testing"
	"time"
)

// TestFrontSockAllocatesNothing: a datagram sent and one received cost no
// allocation (each was three, for the closures RawConn calls).
func TestFrontSockAllocatesNothing(t *testing.T) {
	a, b := loopbackPair(t)
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

// loopbackPair is two UDP sockets on 127.0.0.1, closed when t ends.
func loopbackPair(t *testing.T) (a, b *net.UDPConn) {
	t.Helper()
	for _, c := range []**net.UDPConn{&a, &b} {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		*c = conn
	}
	return a, b
}

// TestFrontSockSendsWithoutTheWriteLock: a send does not queue behind
// another holder of the descriptor's write lock (RawConn.Write): readers
// answering at once must not park and wake each other per collision.
func TestFrontSockSendsWithoutTheWriteLock(t *testing.T) {
	a, b := loopbackPair(t)
	rc, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	writeDone := make(chan error, 1)
	go func() { // holds the write lock until released
		writeDone <- rc.Write(func(uintptr) bool { close(held); <-release; return true })
	}()
	<-held
	sa := newFrontSock(a)
	msg := []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")
	sent := make(chan error, 1)
	go func() { sent <- sa.send(msg, b.LocalAddr().(*net.UDPAddr).AddrPort()) }()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("send waited for the descriptor's write lock")
	}
	close(release)
	if err := <-writeDone; err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := b.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != string(msg) {
		t.Fatalf("received %q, %v", buf[:n], err)
	}
}
