package media

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewRelayConfig(t *testing.T) {
	ok := Config{BindIP: loopback(), AdvertiseIP: net.IPv4(192, 0, 2, 10), PortLow: 20000, PortHigh: 29999}
	cases := []struct {
		name   string
		edit   func(*Config)
		wantOK bool
	}{
		{"valid", func(*Config) {}, true},
		{"one pair", func(c *Config) { c.PortHigh = c.PortLow + 1 }, true},
		{"odd high ignores last port", func(c *Config) { c.PortHigh = c.PortLow + 2 }, true},
		{"odd low", func(c *Config) { c.PortLow = 20001 }, false},
		{"high below low", func(c *Config) { c.PortHigh = 19000 }, false},
		{"no pair", func(c *Config) { c.PortHigh = c.PortLow }, false},
		{"zero low", func(c *Config) { c.PortLow = 0 }, false},
		{"high above 65535", func(c *Config) { c.PortHigh = 70000 }, false},
		{"no bind ip", func(c *Config) { c.BindIP = nil }, false},
		{"bind ip not ours", func(c *Config) { c.BindIP = net.IPv4(192, 0, 2, 99) }, false},
		{"no advertise ip", func(c *Config) { c.AdvertiseIP = nil }, false},
		{"unspecified advertise ip", func(c *Config) { c.AdvertiseIP = net.IPv4zero }, false},
		{"negative quarantine", func(c *Config) { c.Quarantine = -time.Second }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			r, err := NewRelay(cfg, nil)
			if (err == nil) != tc.wantOK {
				t.Fatalf("NewRelay(%+v): err = %v, want ok = %v", cfg, err, tc.wantOK)
			}
			if r != nil {
				_ = r.Close()
			}
		})
	}
}

func TestNewRelayDefaults(t *testing.T) {
	r, err := NewRelay(Config{BindIP: net.IPv4zero, AdvertiseIP: net.ParseIP("2001:db8::1"), PortLow: 20000, PortHigh: 20003}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.ports.quarantine != DefaultQuarantine {
		t.Errorf("quarantine = %v, want %v", r.ports.quarantine, DefaultQuarantine)
	}
	if len(r.ports.slots) != 2 {
		t.Errorf("%d pairs, want 2", len(r.ports.slots))
	}
	if r.adv != "IN IP6 2001:db8::1" {
		t.Errorf("advertised %q", r.adv)
	}
}

// Two pairs hold one stream (a pair per side). A second call finds none,
// the ports rest in quarantine after the first call ends, and come back
// exactly when the quarantine is over.
func TestAllocatorExhaustionAndQuarantine(t *testing.T) {
	r, clk := newTestRelay(t, 2)
	s1, _ := r.NewSession("first")
	out := mustRewrite(t, s1, SideA, offerPCMU)
	// Quarantine is for pairs that saw packets: send one (dropped, no
	// target yet) to the side-B port the rewritten offer names.
	var port int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "m=audio ") {
			port, _ = strconv.Atoi(strings.Fields(l)[1])
		}
	}
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the packet to arrive", func() bool {
		_, _ = c.Write([]byte{0x80, 0, 0, 1})
		return s1.sawTraffic()
	})
	if n := r.InUse(); n != 2 {
		t.Fatalf("InUse() = %d, want 2", n)
	}
	s2, _ := r.NewSession("second")
	defer s2.Close()
	if _, err := s2.Rewrite(SideA, []byte(crlf(offerPCMU))); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("err = %v, want ErrNoPorts", err)
	}

	s1.Close()
	if n := r.InUse(); n != 0 {
		t.Fatalf("InUse() = %d after Close, want 0", n)
	}
	if _, err := s2.Rewrite(SideA, []byte(crlf(offerPCMU))); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("during quarantine: err = %v, want ErrNoPorts", err)
	}
	clk.Advance(DefaultQuarantine - time.Nanosecond)
	if _, err := s2.Rewrite(SideA, []byte(crlf(offerPCMU))); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("1ns before the end of quarantine: err = %v, want ErrNoPorts", err)
	}
	clk.Advance(time.Nanosecond)
	mustRewrite(t, s2, SideA, offerPCMU)
	if n := r.InUse(); n != 2 {
		t.Fatalf("InUse() = %d, want 2", n)
	}
}

// Released pairs go to the back of the line: round robin hands out the
// rest of the range first.
func TestAllocatorRoundRobin(t *testing.T) {
	r, clk := newTestRelay(t, 4)
	clk.Advance(time.Hour)
	seen := map[int]bool{}
	for range 2 {
		s, _ := r.NewSession("rr")
		mustRewrite(t, s, SideA, offerPCMU)
		for _, p := range strings.Fields(fill(s, SideA, "{P0}") + " " + fill(s, SideB, "{P0}")) {
			port, _ := strconv.Atoi(p)
			if seen[port] {
				t.Errorf("port %d reused while others were free", port)
			}
			seen[port] = true
		}
		s.Close()
		clk.Advance(time.Hour) // quarantine is over: only the order matters
	}
}

// A port that another process holds is skipped, and so is its pair.
func TestAllocatorSkipsBusyPorts(t *testing.T) {
	r, _ := newTestRelay(t, 3)
	low := r.ports.low
	squatter, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback(), Port: low + 1}) // RTCP of pair 0
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()

	s, _ := r.NewSession("busy")
	defer s.Close()
	mustRewrite(t, s, SideA, offerPCMU)
	got := fill(s, SideA, "{P0}") + " " + fill(s, SideB, "{P0}")
	if want := strconv.Itoa(low+2) + " " + strconv.Itoa(low+4); got != want {
		t.Errorf("ports %s, want %s", got, want)
	}
	if n := r.InUse(); n != 2 {
		t.Errorf("InUse() = %d, want 2", n)
	}
}

// A call whose ports never received a packet (unanswered, cancelled) gives
// them back at once: quarantine would only cap the call rate.
func TestUnusedPairsSkipQuarantine(t *testing.T) {
	r, _ := newTestRelay(t, 2)
	s1, _ := r.NewSession("unanswered")
	mustRewrite(t, s1, SideA, offerPCMU)
	s1.Close()
	s2, _ := r.NewSession("next")
	defer s2.Close()
	mustRewrite(t, s2, SideA, offerPCMU)
	if n := r.InUse(); n != 2 {
		t.Fatalf("InUse() = %d, want 2", n)
	}
}
