package callctl

import (
	"log/slog"
	"slices"
	"time"
)

// hunt is the serial walk over a PSTN route's gateways (PRODUCT.md §3.4):
// move on after a transport error, a failover response code, or no response
// beyond 100 Trying within failoverTimeSeconds — never after the caller has
// heard a provisional response (no double ringing).
type hunt struct {
	targets []TrunkTarget
	idx     int
	offer   []byte
	current *fork
	early   bool
	timer   *time.Timer
}

// defaultFailoverCodes are used when a gateway lists none.
func defaultFailoverCodes() []int { return []int{408, 503, 504} }

// failover says whether a failed attempt moves on to the next gateway.
func (c *call) failover(f *fork, code int) bool {
	if c.hunt.early || f != c.hunt.current {
		return false
	}
	codes := f.trunk.FailoverCodes
	if len(codes) == 0 {
		codes = defaultFailoverCodes()
	}
	return code == 0 || slices.Contains(codes, code)
}

// nextGateway dials the next gateway of the hunt, or ends the call with the
// best failure when none is left.
func (c *call) nextGateway() {
	h := c.hunt
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	h.current = nil
	for h.idx < len(h.targets) {
		t := &h.targets[h.idx] // the call's own copy of the route (Dial only reads it)
		h.idx++
		if c.e.trunks != nil && !c.e.trunks.SessionStart(*t) {
			c.log.logger().Warn("gateway at its session limit", "gateway", t.Key)
			c.noteFailure(503, "Gateway Session Limit")
			continue
		}
		f := &fork{c: c, trunk: t}
		from := c.from
		if t.Calling != "" {
			from.User = t.Calling
		}
		out, err := c.e.dialer.Dial(c.ctx, Dial{CallID: c.req.CallID, Trunk: t, Caller: c.req.Caller,
			From: from, SDP: h.offer}, f)
		if err != nil {
			c.log.logger().Warn("dial gateway", "gateway", t.Key, "err", err)
			c.trunkOutcome(f, 0)
			c.trunkDone(f, 0, true)
			c.noteFailure(503, "Service Unavailable")
			continue
		}
		// The first attempt is every PSTN call's routine (debug; "call
		// answered" and "call ended" say where it went); a later one is a
		// failover, worth an info line.
		lvl := slog.LevelDebug
		if h.idx > 1 {
			lvl = slog.LevelInfo
		}
		c.log.log(c.ctx, lvl, "trying gateway", slog.String("gateway", t.Key), slog.String("called", t.Called),
			slog.Int("attempt", h.idx))
		f.out = out
		c.forks.add(f)
		h.current = f
		if t.FailoverTime > 0 {
			h.timer = time.AfterFunc(t.FailoverTime, func() { c.post(func() { c.failoverTimeout(f) }) })
		}
		if c.timer == nil {
			c.timer = time.AfterFunc(c.e.cfg.RingTimeout, func() { c.post(c.ringTimeout) })
		}
		return
	}
	if c.best == 0 || c.best == 408 || c.best == 487 {
		c.best, c.bestWhy = 503, "All Gateways Failed"
	}
	c.reject()
}

// failoverTimeout abandons a gateway that stayed silent (beyond 100 Trying).
func (c *call) failoverTimeout(f *fork) {
	if c.ended || c.answered || c.hunt.early || c.hunt.current != f {
		return
	}
	c.log.logger().Warn("gateway did not answer in time", "gateway", f.trunk.Key, "after", f.trunk.FailoverTime)
	c.forks.remove(f)
	f.out.Cancel()
	c.trunkOutcome(f, 0)
	c.trunkDone(f, 0, true)
	c.noteFailure(408, "Request Timeout")
	c.nextGateway()
}

func (c *call) trunkOutcome(f *fork, code int) {
	if c.e.trunks != nil && f.trunk != nil {
		c.e.trunks.CallOutcome(f.trunk.Key, code)
	}
}

// trunkDone uncounts the gateway session of f once.
func (c *call) trunkDone(f *fork, _ int, _ bool) {
	if c.e.trunks != nil && f.trunk != nil && !f.sessionDone {
		f.sessionDone = true
		c.e.trunks.SessionEnd(f.trunk.Key)
	}
}
