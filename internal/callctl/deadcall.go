package callctl

import (
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Dead calls (issue 9): a call whose far end vanished is released by the
// system — BYE on both legs, CDR closed with an EndReason — when a leg's
// session timer runs out (the signaling adapter runs RFC 4028 on each leg
// and reports Expired) or when the relay carried no RTP for RTPTimeout.

// rtpWatch follows a relayed call's RTP packet count.
type rtpWatch struct {
	act   MediaActivity
	timer *time.Timer
	last  uint64    // packets seen at the last change
	since time.Time // when the count last changed (monotonic)
}

// release ends an answered call on the system's initiative.
func (c *call) release(reason string) {
	if c.ended || !c.answered {
		return
	}
	c.log.logger().Info("call released", "reason", reason)
	c.cdr.EndReason = reason
	c.byeAsync(c.in.Bye)
	c.byeLeg(c.winner.out)
	c.end(pbx.ResultAnswered, 200, pbx.PartySystem)
}

// Expired implements InboundEvents: the caller's leg timed out.
func (c *call) Expired(reason string) {
	c.post(func() { c.release(reason) })
}

// Expired implements LegEvents: the callee's leg timed out.
func (f *fork) Expired(reason string) {
	c := f.c
	c.post(func() {
		if c.winner != f {
			return
		}
		c.release(reason)
	})
}

// watchMedia starts the RTP inactivity watch of an answered call, when its
// media is relayed and a timeout is on.
func (c *call) watchMedia() {
	act, ok := c.media.(MediaActivity)
	if !ok || (c.e.cfg.RTPTimeout < 0 && c.e.cfg.RTPHoldTimeout < 0) {
		return
	}
	c.rtp = &rtpWatch{act: act, last: act.RTPPackets(), since: time.Now()}
	c.scheduleRTPCheck()
}

// rtpCheckPeriod is how often the packet count is sampled: a quarter of the
// shortest timeout, within 50 ms and 5 s.
func (c *call) rtpCheckPeriod() time.Duration {
	p := time.Duration(0)
	for _, d := range []time.Duration{c.e.cfg.RTPTimeout, c.e.cfg.RTPHoldTimeout} {
		if d > 0 && (p == 0 || d < p) {
			p = d
		}
	}
	p /= 4
	return min(max(p, 50*time.Millisecond), 5*time.Second)
}

func (c *call) scheduleRTPCheck() {
	c.rtp.timer = time.AfterFunc(c.rtpCheckPeriod(), func() { c.post(c.checkRTP) })
}

// checkRTP releases the call when no RTP was relayed for the timeout that
// applies (the hold timeout while a party holds the call).
func (c *call) checkRTP() {
	if c.ended || c.rtp == nil {
		return
	}
	now := time.Now()
	if n := c.rtp.act.RTPPackets(); n != c.rtp.last {
		c.rtp.last, c.rtp.since = n, now
	}
	limit := c.e.cfg.RTPTimeout
	if c.rtp.act.Held() {
		limit = c.e.cfg.RTPHoldTimeout
	}
	if limit > 0 && now.Sub(c.rtp.since) >= limit {
		c.log.logger().Info("no rtp", "for", now.Sub(c.rtp.since).Round(time.Millisecond), "limit", limit, "held", c.rtp.act.Held())
		c.release(ReasonRTPTimeout)
		return
	}
	c.scheduleRTPCheck()
}

// stopWatch stops the RTP watch (call end).
func (c *call) stopWatch() {
	if c.rtp != nil && c.rtp.timer != nil {
		c.rtp.timer.Stop()
	}
}
