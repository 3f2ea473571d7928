package media

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

// A target the socket cannot reach (IPv6 on an IPv4 relay) drops the
// packet and counts it; nothing is sent.
func TestForwardingUnreachableFamily(t *testing.T) {
	r, _ := newTestRelay(t, 2)
	s, _ := r.NewSession("v6")
	defer s.Close()
	caller := newPeer(t)
	mustRewrite(t, s, SideA, audioSDP(caller.port(), ""))
	mustRewrite(t, s, SideB, "v=0\no=- 1 1 IN IP6 2001:db8::5\ns=-\nc=IN IP6 2001:db8::5\nt=0 0\nm=audio 4000 RTP/AVP 0\n")
	caller.send(fillPort(t, s, SideA), rtpPacket(t, 1))
	waitFor(t, "drop", func() bool { return s.Stats().Dropped == 1 })
	if st := s.Stats(); st.PacketsAtoB != 0 {
		t.Errorf("stats %+v: nothing should have been forwarded", st)
	}
}

// Streams fill the first poller up to its share, then go to the least
// loaded one; Relay.Close stops them all.
func TestPollersShareStreams(t *testing.T) {
	base := runtime.NumGoroutine()
	low, high := freeRange(t, 8)
	r, err := NewRelay(Config{BindIP: loopback(), AdvertiseIP: loopback(), PortLow: low, PortHigh: high, Workers: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.pollers) != 2 {
		t.Fatalf("%d pollers, want 2", len(r.pollers))
	}
	r.pollerCap = 1
	loads := func() [2]int { return [2]int{r.pollers[0].load(), r.pollers[1].load()} }
	var sessions []*Session
	for i, want := range [][2]int{{4, 0}, {4, 4}, {8, 4}, {8, 8}} {
		s, _ := r.NewSession(fmt.Sprint("share-", i))
		mustRewrite(t, s, SideA, offerPCMU)
		sessions = append(sessions, s)
		if got := loads(); got != want {
			t.Errorf("after stream %d: sockets per poller %v, want %v", i, got, want)
		}
	}
	sessions[0].Close()
	if got, want := loads(), [2]int{4, 8}; got != want {
		t.Errorf("after a close: sockets per poller %v, want %v", got, want)
	}
	r.pollerCap = pollerStreams // below its share again: the first poller takes the next
	s, _ := r.NewSession("share-again")
	mustRewrite(t, s, SideA, offerPCMU)
	if got, want := loads(), [2]int{8, 8}; got != want {
		t.Errorf("with room: sockets per poller %v, want %v", got, want)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range r.pollers {
		if n := p.load(); n != 0 {
			t.Errorf("poller %d still holds %d sockets", i, n)
		}
	}
	waitFor(t, "pollers to stop", func() bool { return runtime.NumGoroutine() <= base })
}

// Sessions opened and closed while packets keep arriving on their ports:
// sockets are closed only between the poller's rounds, so a descriptor
// number the kernel hands out again is never read or written for an old
// stream (run with -race).
func TestCloseUnderTraffic(t *testing.T) {
	r, clk := newTestRelay(t, 8)
	caller, callee := newPeer(t), newPeer(t)
	go func() { // drain what reaches the callee
		buf := make([]byte, 1500)
		for {
			if _, _, err := callee.conn.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	ports := make(chan int, 1)
	wg.Go(func() {
		port := 0
		pkt := rtpPacket(t, 1)
		for {
			select {
			case <-stop:
				return
			case port = <-ports:
			default:
			}
			if port != 0 {
				_, _ = caller.conn.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
			}
			time.Sleep(20 * time.Microsecond)
		}
	})
	offer, answer := audioSDP(caller.port(), ""), audioSDP(callee.port(), "")
	var forwarded uint64
	for i := range 200 {
		s, err := r.NewSession(fmt.Sprint("churn-", i))
		if err != nil {
			t.Fatal(err)
		}
		mustRewrite(t, s, SideA, offer)
		mustRewrite(t, s, SideB, answer)
		ports <- fillPort(t, s, SideA)
		time.Sleep(200 * time.Microsecond)
		s.Close()
		forwarded += s.Stats().PacketsAtoB
		clk.Advance(DefaultQuarantine)
	}
	close(stop)
	wg.Wait()
	if forwarded == 0 {
		t.Error("no packet was forwarded during the churn")
	}
	if n := r.InUse(); n != 0 {
		t.Errorf("InUse() = %d, want 0", n)
	}
}

// The relay works on a wildcard IPv4 bind too (0.0.0.0: packets to
// 127.0.0.1 reach it).
func TestForwardingWildcardBind(t *testing.T) {
	low, high := freeRange(t, 2)
	r, err := NewRelay(Config{BindIP: net.IPv4zero, AdvertiseIP: loopback(), PortLow: low, PortHigh: high}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, _ := r.NewSession("wild")
	defer s.Close()
	caller, callee := newPeer(t), newPeer(t)
	mustRewrite(t, s, SideA, audioSDP(caller.port(), ""))
	mustRewrite(t, s, SideB, audioSDP(callee.port(), ""))
	p := rtpPacket(t, 9)
	caller.send(fillPort(t, s, SideA), p)
	callee.expect(p)
}
