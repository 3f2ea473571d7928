package callctl

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Config tunes call control.
type Config struct {
	// RingTimeout ends an unanswered call with 480 (default 60 s).
	RingTimeout time.Duration
	// MaxUserPSTNCalls caps the outbound PSTN calls one user may have at
	// once (toll-fraud limit; emergency calls are never counted nor
	// refused). 0 means no limit.
	MaxUserPSTNCalls int
	// RTPTimeout releases an answered call whose relayed media carried no
	// RTP in either direction for this long (default 60 s; negative: off).
	// Calls with media bypass have no RTP to watch (session timers guard
	// them).
	RTPTimeout time.Duration
	// RTPHoldTimeout replaces RTPTimeout while the call is on hold
	// (sendonly/recvonly/inactive): default 1 h; negative: off.
	RTPHoldTimeout time.Duration
}

// Defaults of the RTP inactivity timeouts.
const (
	DefaultRTPTimeout     = 60 * time.Second
	DefaultRTPHoldTimeout = time.Hour
)

// Engine creates and tracks calls.
type Engine struct {
	cfg    Config
	dir    func() *directory.Directory
	locate Locator
	dialer Dialer
	media  Media
	rec    Recorder
	router Router
	trunks TrunkHealth
	placer Placer // hybrid: callees homed on other nodes (edge.go)
	log    *slog.Logger
	now    func() time.Time
	calls  sync.Map // caller Call-ID → *call
	pstnMu sync.Mutex
	pstn   map[string]int // user → outbound PSTN calls in progress
	active atomic.Int64
	wg     sync.WaitGroup // call loops
	// requests is the leg requests in flight off the loops (BYE,
	// re-INVITE): a dead peer holds one for a whole transaction timeout,
	// so Shutdown waits for them only up to requestWait.
	requests sync.WaitGroup
	closing  atomic.Bool
}

// Deps are the ports an Engine needs.
type Deps struct {
	Directory func() *directory.Directory
	Locator   Locator
	Dialer    Dialer
	Media     Media
	Recorder  Recorder
	Router    Router      // optional: dial plans and voice routing
	Trunks    TrunkHealth // optional: gateway health and sessions
	Placer    Placer      // optional: hybrid cloud–edge placement (edge.go)
	Log       *slog.Logger
	Now       func() time.Time
}

// NewEngine builds a call-control engine.
func NewEngine(cfg Config, d Deps) *Engine {
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 60 * time.Second
	}
	if cfg.RTPTimeout == 0 {
		cfg.RTPTimeout = DefaultRTPTimeout
	}
	if cfg.RTPHoldTimeout == 0 {
		cfg.RTPHoldTimeout = DefaultRTPHoldTimeout
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, dir: d.Directory, locate: d.Locator, dialer: d.Dialer,
		media: d.Media, rec: d.Recorder, router: d.Router, trunks: d.Trunks, placer: d.Placer, log: d.Log, now: d.Now}
}

// InviteRequest is a new call: from an authenticated user (Caller), or from
// a PSTN gateway of Tenant (Caller nil, From the presented caller).
type InviteRequest struct {
	CallID    string
	Tenant    string
	Caller    *pbx.User
	From      Identity // used when Caller is nil
	FromTrunk string   // gateway key of an inbound PSTN call
	// ByNumber restricts the callee to the user whose lineUri is Target
	// (calls from the PSTN reach numbers, never extensions or names).
	ByNumber bool
	Target   string // dialled: "1001", "bob", "+14255550102" or "bob@contoso.com"
	SDP      []byte
}

// ErrDraining is the cause given when the node is shutting down.
var ErrDraining = errors.New("node is shutting down")

// Active is the number of calls in progress.
func (e *Engine) Active() int64 { return e.active.Load() }

// Invite starts a call. It answers the caller itself when the call cannot be
// placed (404, 480, 503) and then returns nil; otherwise it returns the
// handle through which the caller leg's later requests reach the call.
func (e *Engine) Invite(ctx context.Context, req InviteRequest, in Inbound) InboundEvents {
	start := e.now()
	from := req.From
	if req.Caller != nil {
		req.Tenant = req.Caller.Tenant
		from = Identity{Name: req.Caller.DisplayName, User: req.Caller.Username(), Host: req.Caller.Domain()}
	}
	cdr := pbx.CDR{CallID: req.CallID, Tenant: req.Tenant, Caller: callerName(req), Dialed: req.Target, Start: start}
	log := newCallLog(e.log, req.CallID, req.Tenant, cdr.Caller)
	fail := func(code int, reason string, result pbx.CallResult) InboundEvents {
		_ = in.Reject(code, reason)
		in.Release()
		cdr.End, cdr.Result, cdr.Cause, cdr.HangupBy = e.now(), result, code, pbx.PartySystem
		log.info(context.Background(), "call rejected", slog.String("dialed", req.Target), slog.Int("status", code),
			slog.String("reason", reason))
		e.record(cdr)
		return nil
	}
	if e.closing.Load() {
		return fail(503, "Service Unavailable", pbx.ResultFailed)
	}
	callee, ok := e.dir().Resolve(req.Tenant, req.Target)
	if ok && req.ByNumber && callee.Number() != req.Target {
		callee, ok = nil, false
	}
	route, placed := e.place(req, callee) // hybrid (edge.go)
	switch {
	case placed:
	case ok:
	case e.router != nil && req.Caller != nil:
		route = e.routeCall(req) // meter.go
		switch route.Kind {
		case KindUser:
			callee = route.User
			if r, ok := e.place(req, callee); ok {
				route, placed = r, true
			}
		case KindPSTN, KindEmergency:
			if len(route.Gateways) == 0 {
				return fail(403, "No Route", pbx.ResultRejected)
			}
		default:
			code, why := route.Code, route.Reason
			if code == 0 {
				code, why = 404, "Not Found"
			}
			return fail(code, why, resultOf(code))
		}
	default:
		return fail(404, "Not Found", pbx.ResultNotFound)
	}
	if placed { // over the cloud–edge trunk, or refused there
		if route.Kind == KindRejected || len(route.Gateways) == 0 {
			code, why := route.Code, route.Reason
			if code == 0 {
				code, why = 480, "Temporarily Unavailable"
			}
			return fail(code, why, resultOf(code))
		}
		callee = nil
	}
	var devices []pbx.Binding
	if callee != nil {
		cdr.Callee = callee.SIPAddress
		if devices = e.locate.Lookup(callee.SIPAddress); len(devices) == 0 {
			return fail(480, "Temporarily Unavailable", pbx.ResultUnavailable)
		}
	} else {
		cdr.Callee = route.Number
		cdr.Emergency = route.Kind == KindEmergency
		cdr.Via = route.Via
	}
	counted := ""
	if route.Kind == KindPSTN && req.Caller != nil && (route.Via == "directRouting" || route.Via == "callingPlan") {
		if !e.pstnStart(req.Caller.SIPAddress) {
			log.logger().Warn("security event", "event", "pstn-call-limit", "user", req.Caller.SIPAddress,
				"limit", e.cfg.MaxUserPSTNCalls)
			return fail(403, "Concurrent Call Limit Reached", pbx.ResultRejected)
		}
		counted = req.Caller.SIPAddress
	}
	ms, err := e.newMedia(req.CallID, route)
	if err != nil {
		e.pstnEnd(counted)
		log.logger().Error("media relay", "err", err)
		return fail(503, "Service Unavailable", pbx.ResultFailed)
	}
	offer, err := ms.Rewrite(false, req.SDP)
	if err != nil {
		ms.Close()
		e.pstnEnd(counted)
		return fail(488, "Not Acceptable Here", pbx.ResultRejected)
	}
	c := &call{pstnUser: counted, e: e, ctx: ctx, log: log, in: in, media: ms, cdr: cdr, req: req, callee: callee, from: from,
		maxDuration: route.MaxDuration, done: make(chan struct{})}
	c.forks = c.forkBuf[:0]
	c.grant = route.Grant // meter.go
	e.calls.Store(req.CallID, c)
	e.active.Add(1)
	e.wg.Add(1)
	c.watch(ctx)
	if callee == nil {
		c.huntBuf = hunt{targets: route.Gateways, offer: offer}
		c.hunt = &c.huntBuf
		c.post(c.nextGateway)
	} else {
		c.post(func() { c.start(ctx, devices, offer) })
	}
	return c
}

// newMedia anchors media, unless every gateway of a PSTN route asks for
// media bypass (then the SDP passes through untouched).
func (e *Engine) newMedia(id string, r Route) (MediaSession, error) {
	if len(r.Gateways) > 0 {
		bypass := true
		for _, g := range r.Gateways {
			bypass = bypass && g.MediaBypass
		}
		if bypass {
			return passThrough{}, nil
		}
	}
	return e.media.NewSession(id)
}

type passThrough struct{}

func (passThrough) Rewrite(_ bool, sdp []byte) ([]byte, error) { return sdp, nil }
func (passThrough) Close()                                     {}

func callerName(r InviteRequest) string {
	if r.Caller != nil {
		return r.Caller.SIPAddress
	}
	return r.From.User
}

// resultOf maps a final status to a CDR result.
func resultOf(code int) pbx.CallResult {
	switch {
	case code >= 200 && code < 300:
		return pbx.ResultAnswered
	case code == 486 || code == 600:
		return pbx.ResultBusy
	case code == 404 || code == 604:
		return pbx.ResultNotFound
	case code == 480:
		return pbx.ResultUnavailable
	case code == 487:
		return pbx.ResultCancelled
	case code >= 500 && code < 600:
		return pbx.ResultFailed
	}
	return pbx.ResultRejected
}

func (e *Engine) record(c pbx.CDR) {
	if e.rec != nil {
		e.rec.Record(c)
	}
}

// pstnStart counts an outbound PSTN call of user; false when the user is at
// the limit.
func (e *Engine) pstnStart(user string) bool {
	e.pstnMu.Lock()
	defer e.pstnMu.Unlock()
	if e.pstn == nil {
		e.pstn = map[string]int{}
	}
	if e.cfg.MaxUserPSTNCalls > 0 && e.pstn[user] >= e.cfg.MaxUserPSTNCalls {
		return false
	}
	e.pstn[user]++
	return true
}

// pstnEnd uncounts a call counted by pstnStart ("" does nothing).
func (e *Engine) pstnEnd(user string) {
	if user == "" {
		return
	}
	e.pstnMu.Lock()
	defer e.pstnMu.Unlock()
	if e.pstn[user]--; e.pstn[user] <= 0 {
		delete(e.pstn, user)
	}
}

// Drain stops taking new calls (they get 503); calls in progress go on.
func (e *Engine) Drain() { e.closing.Store(true) }

// requestWait bounds how long Shutdown waits for the answers to the BYEs
// it sent: a peer that vanished would hold each for 32 s (Timer F).
const requestWait = 4 * time.Second

// Shutdown drains, waits for calls to end until ctx is done, then hangs up
// the rest and waits for their loops to finish (every CDR is recorded by
// then), and for the answers to the BYEs sent, at most requestWait.
func (e *Engine) Shutdown(ctx context.Context) {
	e.Drain()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		e.calls.Range(func(_, v any) bool {
			c := v.(*call)
			c.post(func() { c.hangupAll() })
			return true
		})
		<-done
	}
	answered := make(chan struct{})
	go func() { e.requests.Wait(); close(answered) }()
	select {
	case <-answered:
	case <-time.After(requestWait):
		e.log.Warn("shutdown: leg requests still unanswered; not waiting longer", "waited", requestWait)
	}
}
