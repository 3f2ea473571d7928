package callctl

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// call is one call in progress. Every event is posted to it as a closure,
// and the closures run one at a time, in the order posted (post): all its
// fields below run are touched only by them.
type call struct {
	e      *Engine
	ctx    context.Context
	log    callLog
	req    InviteRequest
	callee *pbx.User // nil for a PSTN call
	from   Identity  // how the caller is presented to the callee
	hunt   *hunt     // PSTN gateways tried one after the other
	in     Inbound
	media  MediaSession
	cdr    pbx.CDR

	run     sync.Mutex // guards queue, running, closed and replies
	queue   []func()   // posted, not run yet
	running bool       // a goroutine is running the queue
	closed  bool       // the call is over: what is posted now is dropped
	replies []func()   // ByeReply callbacks, run when the call closes (once each)
	done    chan struct{}
	stopCtx func() bool // ends the watch on ctx (context.AfterFunc)

	forks    forkSet  // legs not answered, failed nor cancelled yet
	forkBuf  [2]*fork // forks' first array: most calls have one or two legs
	huntBuf  hunt     // hunt's storage
	winner   *fork
	answered bool
	ended    bool
	best     int
	bestWhy  string
	reinvite bool // a re-INVITE is being relayed
	timer    *time.Timer
	pstnUser string // counted against the user's PSTN call limit
	// maxDuration ends the call this long after answer (0 = no limit).
	maxDuration time.Duration
	grant       func() time.Duration // Route.Grant (meter.go)
	rtp         *rtpWatch            // RTP inactivity (deadcall.go)
}

// fork is one outbound leg of a call.
type fork struct {
	c      *call
	target pbx.Binding
	trunk  *TrunkTarget // set for a gateway attempt
	out    Outbound

	sessionDone bool // its gateway session was uncounted
}

// post runs f after the closures posted before it. When the call is idle
// it runs at once on the caller's goroutine — a front reader handing a
// leg's response, a timer, the INVITE's handler — with no hand-off to a
// goroutine of the call's; while another goroutine runs the call's
// closures, f is queued and that goroutine runs it too. Closures must not
// block (legs are dialled with Dialer.Dial, which does not wait for the
// network; BYEs and re-INVITEs go on goroutines of their own). Once the
// call has ended, f is dropped.
func (c *call) post(f func()) {
	c.run.Lock()
	if c.closed {
		c.run.Unlock()
		return
	}
	c.queue = append(c.queue, f)
	if c.running {
		c.run.Unlock()
		return
	}
	c.running = true
	for len(c.queue) > 0 {
		f := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.run.Unlock()
		f()
		c.run.Lock()
		if c.ended && !c.closed {
			c.closeLocked()
		}
	}
	c.queue = nil
	c.running = false
	var replies []func()
	if c.closed {
		replies, c.replies = c.replies, nil
	}
	c.run.Unlock()
	for _, r := range replies {
		r() // a ByeReply whose closure was dropped with the queue
	}
}

// closeLocked marks the call over (c.run held): done closes, the rest of
// the queue is dropped, the engine stops waiting for it.
func (c *call) closeLocked() {
	c.closed = true
	c.queue = c.queue[:0]
	close(c.done)
	if c.stopCtx != nil {
		c.stopCtx()
	}
	c.e.wg.Done()
}

// watch hangs the call up when ctx ends (as Shutdown does). A context that
// never ends (signaling passes context.Background: Shutdown hangs calls up)
// is not watched: context.AfterFunc would cost ≈ 6 objects a call for a
// callback that cannot run.
func (c *call) watch(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	c.stopCtx = context.AfterFunc(ctx, func() {
		c.post(func() {
			c.hangupAll()
			c.ended = true // over even if it had not ended: nothing more runs
		})
	})
}

func (c *call) start(ctx context.Context, devices []pbx.Binding, offer []byte) {
	for _, b := range devices {
		f := &fork{c: c, target: b}
		out, err := c.e.dialer.Dial(ctx, Dial{CallID: c.req.CallID, Target: b, Caller: c.req.Caller,
			Callee: c.callee, From: c.from, SDP: offer}, f)
		if err != nil {
			c.log.logger().Warn("dial device", "contact", b.Contact, "err", err)
			c.noteFailure(503, "Service Unavailable")
			continue
		}
		f.out = out
		c.forks.add(f)
	}
	if len(c.forks) == 0 {
		c.reject()
		return
	}
	c.timer = time.AfterFunc(c.e.cfg.RingTimeout, func() { c.post(c.ringTimeout) })
}

// noteFailure keeps the best final response among the forks (RFC 3261 §16.7):
// a 6xx wins, then 486 Busy, then other 4xx, then 5xx; timeouts rank last.
func (c *call) noteFailure(code int, reason string) {
	rank := func(code int) int {
		switch {
		case code >= 600:
			return 5
		case code == 486:
			return 4
		case code == 408 || code == 487:
			return 1
		case code >= 400 && code < 500:
			return 3
		case code >= 500:
			return 2
		}
		return 0
	}
	if c.best == 0 || rank(code) > rank(c.best) {
		c.best, c.bestWhy = code, reason
	}
}

func (c *call) reject() {
	code, why := c.best, c.bestWhy
	if code == 0 || code == 408 || code == 487 {
		code, why = 480, "Temporarily Unavailable"
	}
	_ = c.in.Reject(code, why)
	result := pbx.ResultRejected
	switch {
	case code == 486 || code == 600:
		result = pbx.ResultBusy
	case code == 480:
		result = pbx.ResultUnavailable
	case code == 603:
		result = pbx.ResultRejected
	case code >= 500 && code < 600:
		result = pbx.ResultFailed
	}
	c.end(result, code, pbx.PartyCallee)
}

func (c *call) ringTimeout() {
	if c.answered || c.ended {
		return
	}
	c.cancelForks(nil)
	_ = c.in.Reject(480, "Temporarily Unavailable")
	c.end(pbx.ResultNoAnswer, 480, pbx.PartySystem)
}

func (c *call) cancelForks(except *fork) {
	for _, f := range c.forks {
		if f != except {
			f.out.Cancel()
		}
	}
	c.forks.clear()
}

// hangupAll ends the call whatever its state (shutdown).
func (c *call) hangupAll() {
	if c.ended {
		return
	}
	if c.answered {
		c.byeAsync(c.in.Bye)
		c.byeLeg(c.winner.out)
		c.end(pbx.ResultAnswered, 200, pbx.PartySystem)
		return
	}
	c.cancelForks(nil)
	_ = c.in.Reject(503, "Service Unavailable")
	c.end(pbx.ResultFailed, 503, pbx.PartySystem)
}

// byeAsync sends a BYE without blocking the loop; Shutdown waits for it,
// for a while.
func (c *call) byeAsync(bye func() error) {
	c.e.requests.Add(1)
	go func() { c.byeDone(bye()) }()
}

// byeLeg is byeAsync for a leg: one that implements ByeThen sends its BYE
// without a goroutine of ours waiting for the answer.
func (c *call) byeLeg(l interface{ Bye() error }) {
	if a, ok := l.(ByeThen); ok {
		c.e.requests.Add(1)
		a.ByeThen(c.byeDone)
		return
	}
	c.byeAsync(l.Bye)
}

// byeDone ends a BYE sent by byeAsync or byeLeg.
func (c *call) byeDone(err error) {
	defer c.e.requests.Done()
	if err != nil {
		c.log.log(context.Background(), slog.LevelDebug, "bye", slog.Any("err", err))
	}
}

func (c *call) end(result pbx.CallResult, cause int, by pbx.Party) {
	if c.ended {
		return
	}
	c.ended = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.stopWatch()
	now := c.e.now()
	c.cdr.End, c.cdr.Result, c.cdr.Cause, c.cdr.HangupBy = now, result, cause, by
	if c.cdr.Answer != nil {
		c.cdr.Duration = int64(now.Sub(*c.cdr.Answer).Round(time.Second) / time.Second)
	}
	c.media.Close()
	c.in.Release()
	if c.winner != nil {
		c.winner.out.Release()
		c.trunkDone(c.winner, 0, false)
	}
	if c.hunt != nil && c.hunt.timer != nil {
		c.hunt.timer.Stop()
	}
	c.e.calls.Delete(c.req.CallID)
	c.e.active.Add(-1)
	c.e.pstnEnd(c.pstnUser)
	c.log.info(context.Background(), "call ended", slog.String("result", string(result)), slog.Int("status", cause),
		slog.String("hangup_by", string(by)), slog.Int64("duration_s", c.cdr.Duration))
	c.e.record(c.cdr)
}

// --- caller leg events (InboundEvents) ---

func (c *call) Cancel() {
	c.post(func() {
		if c.answered || c.ended {
			return
		}
		c.cancelForks(nil)
		c.end(pbx.ResultCancelled, 487, pbx.PartyCaller)
	})
}

func (c *call) Ack() {}

func (c *call) Bye() { c.post(c.bye) }

// byeWaitMax bounds ByeWait when the call loop is slow to take the event.
const byeWaitMax = 2 * time.Second

// ByeWait is Bye, returning once the call loop has handled it (the call
// ended and its CDR recorded) or the call is over, or after byeWaitMax.
// The SIP adapter answers the caller's BYE after it, so a caller that saw
// its BYE answered has its CDR even if the process is killed right after
// (test/robust TestCrash).
func (c *call) ByeWait() {
	handled := make(chan struct{})
	c.post(func() { defer close(handled); c.bye() })
	select {
	case <-handled: // run here, the call idle: the usual case
		return
	case <-c.done:
		return
	default:
	}
	t := time.NewTimer(byeWaitMax)
	defer t.Stop()
	select {
	case <-handled:
	case <-c.done: // the call ended before running it
	case <-t.C:
	}
}

// ByeReply is ByeWait without waiting: reply runs once, when the call
// loop has handled the BYE (the call ended and its CDR recorded), when the
// call closed without running it, or after byeWaitMax, whichever comes
// first, on the goroutine that gets there. In the usual case, the call
// idle, that is this one, before ByeReply returns. reply must not block.
// The UDP front answers a caller's BYE with it on its reader, with no
// goroutine of its own (issue #8).
func (c *call) ByeReply(reply func()) {
	var once sync.Once
	var replied atomic.Bool
	r := func() {
		once.Do(func() {
			replied.Store(true)
			reply()
		})
	}
	c.run.Lock()
	if c.closed {
		c.run.Unlock()
		r()
		return
	}
	c.replies = append(c.replies, r)
	c.run.Unlock()
	c.post(func() { c.bye(); r() })
	if !replied.Load() { // queued behind a busy loop: bounded as ByeWait is
		time.AfterFunc(byeWaitMax, r)
	}
}

func (c *call) bye() {
	if c.ended {
		return
	}
	if !c.answered { // BYE before the 2xx: treat as an abandon
		c.cancelForks(nil)
		c.end(pbx.ResultCancelled, 487, pbx.PartyCaller)
		return
	}
	c.byeLeg(c.winner.out)
	c.end(pbx.ResultAnswered, 200, pbx.PartyCaller)
}

func (c *call) ReInvite(sdp []byte, reply func(int, []byte)) {
	c.post(func() {
		if c.ended || !c.answered {
			reply(481, nil)
			return
		}
		c.relayReInvite(false, sdp, reply)
	})
}

// relayReInvite forwards a re-INVITE to the other party without blocking the
// loop; fromCallee says which side sent it.
func (c *call) relayReInvite(fromCallee bool, sdp []byte, reply func(int, []byte)) {
	if c.reinvite {
		reply(491, nil)
		return
	}
	offer := sdp
	if len(sdp) > 0 {
		var err error
		if offer, err = c.media.Rewrite(fromCallee, sdp); err != nil {
			reply(488, nil)
			return
		}
	}
	c.reinvite = true
	send := c.winner.out.ReInvite
	if fromCallee {
		send = c.in.ReInvite
	}
	c.e.requests.Add(1)
	go func() {
		defer c.e.requests.Done()
		code, answer, err := send(offer)
		if err != nil && code == 0 {
			code = 408
		}
		c.post(func() {
			c.reinvite = false
			if code >= 200 && code < 300 && len(answer) > 0 {
				var rerr error
				if answer, rerr = c.media.Rewrite(!fromCallee, answer); rerr != nil {
					code, answer = 488, nil
				}
			}
			reply(code, answer)
		})
	}()
}

// --- callee leg events (LegEvents), posted to the loop ---

func (f *fork) Provisional(code int, reason string, sdp []byte) {
	c := f.c
	c.post(func() {
		if c.answered || c.ended {
			return
		}
		if f.trunk != nil {
			c.hunt.early = true // no failover once the caller hears ringing
			if c.hunt.timer != nil {
				c.hunt.timer.Stop()
			}
		}
		var body []byte
		if len(sdp) > 0 {
			var err error
			if body, err = c.media.Rewrite(true, sdp); err != nil {
				body = nil
			}
		}
		_ = c.in.Progress(code, reason, body)
	})
}

func (f *fork) Answered(sdp []byte) {
	c := f.c
	c.post(func() {
		if c.ended || c.answered {
			// Another device won, or the caller gave up: end this one and
			// forget its dialog once the BYE is through.
			c.forks.remove(f)
			c.byeAsync(func() error {
				defer f.out.Release()
				return f.out.Bye()
			})
			return
		}
		c.forks.remove(f)
		c.answered, c.winner = true, f
		if f.trunk != nil {
			c.trunkOutcome(f, 200)
			if c.hunt.timer != nil {
				c.hunt.timer.Stop()
			}
		}
		c.cancelForks(f)
		if c.timer != nil {
			c.timer.Stop()
		}
		body, err := c.media.Rewrite(true, sdp)
		if err != nil {
			c.byeLeg(f.out)
			_ = c.in.Reject(488, "Not Acceptable Here")
			c.end(pbx.ResultFailed, 488, pbx.PartyCallee)
			return
		}
		now := c.e.now()
		c.cdr.Answer = &now
		if err := c.in.Answer(body); err != nil {
			c.log.logger().Warn("answer caller", "err", err)
			c.byeLeg(f.out)
			c.end(pbx.ResultFailed, 500, pbx.PartySystem)
			return
		}
		if f.trunk != nil {
			c.log.info(context.Background(), "call answered", slog.String("callee", c.cdr.Callee), slog.String("gateway", f.trunk.Key))
		} else {
			c.log.info(context.Background(), "call answered", slog.String("callee", c.cdr.Callee), slog.String("contact", f.target.Contact))
		}
		c.watchMedia() // deadcall.go
		if c.maxDuration > 0 {
			// Prepaid credit (Calling Plan) only covers this long.
			c.timer = time.AfterFunc(c.maxDuration, func() { c.post(c.limitReached) })
		} else if c.grant != nil {
			c.renew() // meter.go
		}
	})
}

// limitReached ends an answered call whose allowed duration ran out.
func (c *call) limitReached() {
	if c.ended || !c.answered {
		return
	}
	c.log.logger().Info("call duration limit reached", "limit", c.maxDuration)
	c.byeAsync(c.in.Bye)
	c.byeLeg(c.winner.out)
	c.end(pbx.ResultAnswered, 200, pbx.PartySystem)
}

func (f *fork) Failed(code int, reason string) {
	c := f.c
	c.post(func() {
		if !c.forks.remove(f) {
			return
		}
		f.out.Release()
		if f.trunk != nil {
			c.trunkOutcome(f, code)
			c.trunkDone(f, code, true)
		}
		if c.answered || c.ended {
			return
		}
		c.noteFailure(code, reason)
		if f.trunk != nil && c.failover(f, code) {
			c.nextGateway()
			return
		}
		if len(c.forks) == 0 {
			c.reject()
		}
	})
}

func (f *fork) Bye() {
	c := f.c
	c.post(func() {
		if c.ended || c.winner != f {
			return
		}
		c.byeAsync(c.in.Bye)
		c.end(pbx.ResultAnswered, 200, pbx.PartyCallee)
	})
}

func (f *fork) ReInvite(sdp []byte, reply func(int, []byte)) {
	c := f.c
	c.post(func() {
		if c.ended || c.winner != f {
			reply(481, nil)
			return
		}
		c.relayReInvite(true, sdp, reply)
	})
}

var (
	_ InboundEvents = (*call)(nil)
	_ LegEvents     = (*fork)(nil)
)

// forkSet is a call's outbound legs in the order they were placed. A
// slice, not a map: a call has a handful, and the first two live in the
// call (forkBuf).
type forkSet []*fork

func (s *forkSet) add(f *fork) { *s = append(*s, f) }

// remove takes f out of the set and says whether it was in it.
func (s *forkSet) remove(f *fork) bool {
	i := slices.Index(*s, f)
	if i < 0 {
		return false
	}
	*s = slices.Delete(*s, i, i+1)
	return true
}

// clear empties the set.
func (s *forkSet) clear() {
	clear(*s)
	*s = (*s)[:0]
}
