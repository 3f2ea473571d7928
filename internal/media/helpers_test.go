package media

import (
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

func loopback() net.IP { return net.IPv4(127, 0, 0, 1) }

// fakeClock is the allocator's clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// freeRange finds pairs free RTP/RTCP pairs on 127.0.0.1 below the
// ephemeral range that other packages' port-0 listeners use. The tests of
// this package that bind ports do not run in parallel with each other.
func freeRange(t testing.TB, pairs int) (low, high int) {
	t.Helper()
	for range 100 {
		low = 20000 + 2*rand.IntN((32000-20000)/2-pairs)
		high = low + 2*pairs - 1
		if rangeFree(low, high) {
			return low, high
		}
	}
	t.Fatalf("no free range of %d port pairs", pairs)
	return 0, 0
}

func rangeFree(low, high int) bool {
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	for p := low; p <= high; p++ {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback(), Port: p})
		if err != nil {
			return false
		}
		held = append(held, c)
	}
	return true
}

// newTestRelay makes a relay bound to 127.0.0.1 with pairs port pairs, a fake
// clock and a deterministic start, and checks at the end that no port leaked.
func newTestRelay(t testing.TB, pairs int) (*Relay, *fakeClock) {
	t.Helper()
	low, high := freeRange(t, pairs)
	r, err := NewRelay(Config{BindIP: loopback(), AdvertiseIP: net.IPv4(192, 0, 2, 10), PortLow: low, PortHigh: high}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	r.ports.now = clk.Now
	r.ports.next = 0
	t.Cleanup(func() {
		_ = r.Close()
		if n := r.InUse(); n != 0 {
			t.Errorf("InUse() = %d after Close, want 0", n)
		}
	})
	return r, clk
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
