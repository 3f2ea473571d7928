// Package trunk keeps the health of PSTN gateways (a tenant's SBCs for
// Direct Routing, the operator's carriers for Calling Plan): active OPTIONS
// probing through a Prober port, the peer's own OPTIONS, passive outcomes of
// real calls, demotion, draining and concurrent-session accounting.
//
// A gateway is Active when it answered or sent OPTIONS (or completed a call)
// within the health window, Demoted otherwise (tried last, never skipped),
// and Disabled when its configuration says enabled: false (no new calls; live
// calls continue). It is a domain package: no sockets, clocks injected.
package trunk

import (
	"context"
	"sync"
	"time"
)

// Status is a gateway's health as routing sees it.
type Status string

// Statuses.
const (
	Active   Status = "Active"
	Demoted  Status = "Demoted"
	Disabled Status = "Disabled"
)

// Defaults of PRODUCT.md §4.
const (
	DefaultInterval = 60 * time.Second
	DefaultWindow   = 180 * time.Second
	// PassiveFailures consecutive failed call attempts demote a gateway
	// until it answers OPTIONS or completes a call again.
	PassiveFailures = 3
)

// Gateway is what health tracking needs to know of a gateway.
type Gateway struct {
	Key         string // tenant/fqdn, or carrier name: unique per node
	Enabled     bool
	SendOptions bool
	MaxSessions int  // 0 = unlimited
	Enforce     bool // refuse new calls at MaxSessions (else alert only)
}

// Config tunes probing.
type Config struct {
	Interval time.Duration // OPTIONS period, default 60 s, minimum 1 s
	Window   time.Duration // health window, default 180 s
}

// Snapshot is the observable state of one gateway.
type Snapshot struct {
	Key          string    `json:"key"`
	Status       Status    `json:"status"`
	LastOptions  time.Time `json:"lastOptions,omitzero"` // last OPTIONS answered by or received from it
	LastFailure  time.Time `json:"lastFailure,omitzero"`
	Failures     int       `json:"consecutiveFailures"`
	Sessions     int       `json:"sessions"`
	MaxSessions  int       `json:"maxSessions,omitempty"`
	SessionAlert bool      `json:"sessionAlert"` // at or above 90 % of MaxSessions
}

type state struct {
	lastSeen    time.Time // OPTIONS answered/received or call completed
	lastOptions time.Time
	lastFailure time.Time
	failures    int
	sessions    int
}

// Health tracks every gateway of the node. Safe for concurrent use.
type Health struct {
	cfg Config
	now func() time.Time

	mu sync.Mutex
	gw map[string]*state
}

// NewHealth returns an empty tracker.
func NewHealth(cfg Config, now func() time.Time) *Health {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < time.Second {
		cfg.Interval = time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if now == nil {
		now = time.Now
	}
	return &Health{cfg: cfg, now: now, gw: map[string]*state{}}
}

func (h *Health) get(key string) *state {
	s, ok := h.gw[key]
	if !ok {
		s = &state{}
		h.gw[key] = s
	}
	return s
}

// Status is the gateway's current status.
func (h *Health) Status(g Gateway) Status {
	if !g.Enabled {
		return Disabled
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status(h.get(g.Key))
}

func (h *Health) status(s *state) Status {
	if s.failures >= PassiveFailures {
		return Demoted
	}
	if s.lastSeen.IsZero() || h.now().Sub(s.lastSeen) > h.cfg.Window {
		return Demoted
	}
	return Active
}

// OptionsAnswered records a 2xx (or any final response: the SBC is alive)
// to our OPTIONS; OptionsReceived records the gateway's own OPTIONS.
func (h *Health) OptionsAnswered(key string) { h.seen(key, true) }

// OptionsReceived records an OPTIONS the gateway sent us.
func (h *Health) OptionsReceived(key string) { h.seen(key, true) }

func (h *Health) seen(key string, options bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(key)
	now := h.now()
	s.lastSeen = now
	if options {
		s.lastOptions = now
	}
	s.failures = 0
}

// OptionsFailed records an OPTIONS that got no answer.
func (h *Health) OptionsFailed(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.get(key).lastFailure = h.now()
}

// CallOutcome records the result of a call attempt through the gateway:
// code is the final status (0 for a transport error or timeout). Timeouts,
// transport errors and 5xx count against it; anything else shows it alive.
func (h *Health) CallOutcome(key string, code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(key)
	if code == 0 || code == 408 || code >= 500 && code < 600 {
		s.failures++
		s.lastFailure = h.now()
		return
	}
	s.failures = 0
	s.lastSeen = h.now()
}

// SessionStart counts a new call on the gateway. It returns false (and
// counts nothing) when the gateway enforces MaxSessions and is full.
func (h *Health) SessionStart(g Gateway) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(g.Key)
	if g.Enforce && g.MaxSessions > 0 && s.sessions >= g.MaxSessions {
		return false
	}
	s.sessions++
	return true
}

// SessionEnd uncounts a call started with SessionStart.
func (h *Health) SessionEnd(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.get(key); s.sessions > 0 {
		s.sessions--
	}
}

// Snapshot reports a gateway's state.
func (h *Health) Snapshot(g Gateway) Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(g.Key)
	st := h.status(s)
	if !g.Enabled {
		st = Disabled
	}
	snap := Snapshot{Key: g.Key, Status: st, LastOptions: s.lastOptions, LastFailure: s.lastFailure,
		Failures: s.failures, Sessions: s.sessions, MaxSessions: g.MaxSessions}
	if g.MaxSessions > 0 && s.sessions*10 >= g.MaxSessions*9 {
		snap.SessionAlert = true
	}
	return snap
}

// Forget drops the state of gateways no longer configured.
func (h *Health) Forget(keep func(key string) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, s := range h.gw {
		if !keep(k) && s.sessions == 0 {
			delete(h.gw, k)
		}
	}
}

// Prober sends one OPTIONS to a gateway and reports whether it answered.
type Prober interface {
	Probe(ctx context.Context, key string) error
}

// Run probes every enabled gateway with SendOptions each Interval until ctx
// ends. gateways is read on every round, so configuration changes apply at
// the next round; probes of one round run concurrently.
func (h *Health) Run(ctx context.Context, gateways func() []Gateway, p Prober) {
	t := time.NewTicker(h.cfg.Interval)
	defer t.Stop()
	for {
		h.round(ctx, gateways(), p)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h *Health) round(ctx context.Context, gws []Gateway, p Prober) {
	var wg sync.WaitGroup
	for _, g := range gws {
		if !g.Enabled || !g.SendOptions {
			continue
		}
		wg.Add(1)
		go func(key string) {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, h.cfg.Interval)
			defer cancel()
			if err := p.Probe(pctx, key); err != nil {
				h.OptionsFailed(key)
				return
			}
			h.OptionsAnswered(key)
		}(g.Key)
	}
	wg.Wait()
}
