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
}

// Engine creates and tracks calls.
type Engine struct {
	cfg     Config
	dir     func() *directory.Directory
	locate  Locator
	dialer  Dialer
	media   Media
	rec     Recorder
	log     *slog.Logger
	now     func() time.Time
	calls   sync.Map // caller Call-ID → *call
	active  atomic.Int64
	wg      sync.WaitGroup
	closing atomic.Bool
}

// Deps are the ports an Engine needs.
type Deps struct {
	Directory func() *directory.Directory
	Locator   Locator
	Dialer    Dialer
	Media     Media
	Recorder  Recorder
	Log       *slog.Logger
	Now       func() time.Time
}

// NewEngine builds a call-control engine.
func NewEngine(cfg Config, d Deps) *Engine {
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 60 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, dir: d.Directory, locate: d.Locator, dialer: d.Dialer,
		media: d.Media, rec: d.Recorder, log: d.Log, now: d.Now}
}

// InviteRequest is a new call from an authenticated user.
type InviteRequest struct {
	CallID string
	Caller *pbx.User
	Target string // dialled: "1001", "bob", "+14255550102" or "bob@contoso.com"
	SDP    []byte
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
	cdr := pbx.CDR{CallID: req.CallID, Tenant: req.Caller.Tenant, Caller: req.Caller.SIPAddress,
		Dialed: req.Target, Start: start}
	log := e.log.With("call_id", req.CallID, "tenant", req.Caller.Tenant, "user", req.Caller.SIPAddress)
	fail := func(code int, reason string, result pbx.CallResult) InboundEvents {
		_ = in.Reject(code, reason)
		in.Release()
		cdr.End, cdr.Result, cdr.Cause, cdr.HangupBy = e.now(), result, code, pbx.PartySystem
		log.Info("call rejected", "dialed", req.Target, "status", code, "reason", reason)
		e.record(cdr)
		return nil
	}
	if e.closing.Load() {
		return fail(503, "Service Unavailable", pbx.ResultFailed)
	}
	callee, ok := e.dir().Resolve(req.Caller.Tenant, req.Target)
	if !ok {
		return fail(404, "Not Found", pbx.ResultNotFound)
	}
	cdr.Callee = callee.SIPAddress
	devices := e.locate.Lookup(callee.SIPAddress)
	if len(devices) == 0 {
		return fail(480, "Temporarily Unavailable", pbx.ResultUnavailable)
	}
	ms, err := e.media.NewSession(req.CallID)
	if err != nil {
		log.Error("media relay", "err", err)
		return fail(503, "Service Unavailable", pbx.ResultFailed)
	}
	offer, err := ms.Rewrite(false, req.SDP)
	if err != nil {
		ms.Close()
		return fail(488, "Not Acceptable Here", pbx.ResultRejected)
	}
	c := &call{e: e, log: log, in: in, media: ms, cdr: cdr, req: req, callee: callee,
		ev: make(chan func(), 32), done: make(chan struct{}), forks: map[*fork]struct{}{}}
	e.calls.Store(req.CallID, c)
	e.active.Add(1)
	e.wg.Add(1)
	go c.loop(ctx)
	c.post(func() { c.start(ctx, devices, offer) })
	return c
}

func (e *Engine) record(c pbx.CDR) {
	if e.rec != nil {
		e.rec.Record(c)
	}
}

// Drain stops taking new calls (they get 503); calls in progress go on.
func (e *Engine) Drain() { e.closing.Store(true) }

// Shutdown drains, waits for calls to end until ctx is done, then hangs up
// the rest and waits for their loops to finish.
func (e *Engine) Shutdown(ctx context.Context) {
	e.Drain()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	e.calls.Range(func(_, v any) bool {
		c := v.(*call)
		c.post(func() { c.hangupAll() })
		return true
	})
	<-done
}
