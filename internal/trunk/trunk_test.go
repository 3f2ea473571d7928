package trunk

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestStatusLifecycle(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := NewHealth(Config{Window: 180 * time.Second}, c.now)
	g := Gateway{Key: "contoso/sbc1.contoso.com", Enabled: true, SendOptions: true}
	if s := h.Status(g); s != Demoted {
		t.Fatalf("never seen: %s, want Demoted", s)
	}
	h.OptionsAnswered(g.Key)
	if s := h.Status(g); s != Active {
		t.Fatalf("after OPTIONS: %s", s)
	}
	c.add(180 * time.Second)
	if s := h.Status(g); s != Active {
		t.Fatalf("at the window edge: %s", s)
	}
	c.add(time.Second)
	if s := h.Status(g); s != Demoted {
		t.Fatalf("after the window: %s", s)
	}
	h.OptionsReceived(g.Key)
	if s := h.Status(g); s != Active {
		t.Fatalf("after its own OPTIONS: %s", s)
	}
	g.Enabled = false
	if s := h.Status(g); s != Disabled {
		t.Fatalf("disabled: %s", s)
	}
}

func TestPassiveFailures(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	h := NewHealth(Config{}, c.now)
	g := Gateway{Key: "k", Enabled: true}
	h.OptionsAnswered("k")
	for i, code := range []int{503, 0, 486} {
		h.CallOutcome("k", code)
		if i < 2 && h.Status(g) != Active {
			t.Fatalf("demoted too early after %d failures", i+1)
		}
	}
	if h.Status(g) != Active { // 486 shows the SBC alive and resets the count
		t.Fatal("486 should reset failures")
	}
	for range PassiveFailures {
		h.CallOutcome("k", 408)
	}
	if h.Status(g) != Demoted {
		t.Fatal("not demoted after passive failures")
	}
	h.OptionsAnswered("k")
	if h.Status(g) != Active {
		t.Fatal("OPTIONS should restore")
	}
}

func TestSessions(t *testing.T) {
	h := NewHealth(Config{}, nil)
	g := Gateway{Key: "k", Enabled: true, MaxSessions: 10, Enforce: true}
	for i := range 10 {
		if !h.SessionStart(g) {
			t.Fatalf("refused session %d", i)
		}
	}
	if h.SessionStart(g) {
		t.Fatal("11th session admitted with enforcement")
	}
	if s := h.Snapshot(g); !s.SessionAlert || s.Sessions != 10 {
		t.Fatalf("snapshot %+v", s)
	}
	h.SessionEnd("k")
	if !h.SessionStart(g) {
		t.Fatal("refused after a session ended")
	}
	g.Enforce = false
	if !h.SessionStart(g) {
		t.Fatal("alert-only limit refused a call")
	}
}

type fakeProber struct {
	mu   sync.Mutex
	down map[string]bool
	n    int
}

func (p *fakeProber) Probe(_ context.Context, key string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.down[key] {
		return errors.New("timeout")
	}
	return nil
}

func TestRound(t *testing.T) {
	h := NewHealth(Config{Interval: time.Second}, nil)
	p := &fakeProber{down: map[string]bool{"b": true}}
	gws := []Gateway{{Key: "a", Enabled: true, SendOptions: true}, {Key: "b", Enabled: true, SendOptions: true},
		{Key: "c", Enabled: false, SendOptions: true}, {Key: "d", Enabled: true}}
	h.round(context.Background(), gws, p)
	if p.n != 2 {
		t.Fatalf("probed %d gateways, want 2", p.n)
	}
	if h.Status(gws[0]) != Active || h.Status(gws[1]) != Demoted || h.Status(gws[2]) != Disabled {
		t.Fatal("wrong statuses after a round")
	}
	if h.Snapshot(gws[1]).LastFailure.IsZero() {
		t.Fatal("failure not recorded")
	}
}

func TestRunStops(t *testing.T) {
	h := NewHealth(Config{Interval: time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := &fakeProber{}
	go func() {
		h.Run(ctx, func() []Gateway { return []Gateway{{Key: "a", Enabled: true, SendOptions: true}} }, p)
		close(done)
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		p.mu.Lock()
		n := p.n
		p.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no probe")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}
