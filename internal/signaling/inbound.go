package signaling

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
)

// inbound is the caller's leg: the UAS side of the B2BUA.
type inbound struct {
	s        *Server
	req      *sip.Request
	tx       sip.ServerTransaction
	callID   string
	localTag string
	source   string // where the caller's requests come from (NAT)
	// rtxT1, rtxT2 replace sip.T1 and sip.T2 for the 2xx's retransmission
	// when set (tests shorten them without touching sipgo's globals, which
	// transactions of other tests read meanwhile).
	rtxT1, rtxT2 time.Duration

	mu           sync.Mutex
	events       callctl.InboundEvents
	cancelled    bool
	final        bool
	finalCh      chan struct{}
	acked        chan struct{}
	ackOnce      sync.Once
	rtx          *time.Timer // 2xx retransmission until the ACK (retransmit)
	cseq         uint32
	remoteTarget sip.Uri
	routeSet     []sip.Uri // the INVITE's Record-Route, in order (RFC 3261 §12.1.1)
	released     bool

	st *sessionTimer // RFC 4028 on this leg (timers.go)
}

var _ callctl.Inbound = (*inbound)(nil)

func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	growStack()
	if to := req.To(); to != nil && to.Params.Has("tag") {
		l, ok := s.dialogs.get(callIDOf(req))
		if !ok {
			s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
			return
		}
		l.onReInvite(req, tx)
		return
	}
	if s.closing.Load() {
		s.respond(req, tx, 503, "Service Unavailable", sip.NewHeader("Retry-After", "30"))
		return
	}
	from := req.From()
	if from == nil {
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	if _, reason, ok := s.tlsGateway(req); ok && reason != "" {
		s.securityEvent("sbc-refused", req, "", reason)
		s.respond(req, tx, 403, reason)
		return
	}
	if s.handlePeerInvite(req, tx) { // the cloud–edge trunk (edge.go)
		return
	}
	if gw, ok := s.fromGateway(req); ok {
		s.handleGatewayInvite(req, tx, gw)
		return
	}
	if from.Address.User == "" {
		s.respond(req, tx, 403, "Forbidden")
		return
	}
	caller, ok := s.authenticate(req, tx, aorOf(from.Address))
	if !ok {
		return
	}
	target := req.Recipient.User
	if target == "" {
		s.respond(req, tx, 404, "Not Found")
		return
	}
	if req.Recipient.Host != "" {
		target += "@" + strings.ToLower(req.Recipient.Host)
	}
	s.serveInvite(req, tx, callctl.InviteRequest{Caller: caller, Target: target})
}

// serveInvite runs a new call for an accepted INVITE and holds the handler
// until the INVITE transaction has its final response.
//
// 100 Trying is decided here, once the INVITE is accepted, not on arrival:
// what is refused before (a challenge, 403, 404) is answered at once, and
// a 100 ahead of it would only cost a datagram (RFC 3261 §17.2.1 asks for
// 100 when the final response is more than 200 ms away). The challenged
// INVITE of every call placed by a phone is one of those. Over the UDP
// front the 100 waits tryingDelay and is dropped when the call has
// answered meanwhile (trying.go); sipgo's transports get it at once.
func (s *Server) serveInvite(req *sip.Request, tx sip.ServerTransaction, ir callctl.InviteRequest) {
	ft, front := frontInvite(tx)
	if front {
		ft.tryingLater() // only when no answer comes first (trying.go)
	} else {
		s.respond(req, tx, 100, "Trying")
	}
	from := req.From()
	in := &inbound{s: s, req: req, tx: tx, callID: callIDOf(req), localTag: newTag(),
		source: req.Source(), finalCh: make(chan struct{}), acked: make(chan struct{}),
		cseq: 1}
	if c := req.Contact(); c != nil {
		in.remoteTarget = *c.Address.Clone()
	} else {
		in.remoteTarget = *from.Address.Clone()
	}
	in.routeSet = recordRoutes(req, false)
	in.st = s.newTimer(in.newRequest, in.expired)
	if ok, floor := in.st.negotiate(req); !ok { // RFC 4028 §8.1
		s.respond(req, tx, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", strconv.Itoa(floor)))
		return
	}
	in.st.exchanged(nil, req.Body())
	s.dialogs.put(in.callID, in)
	tx.OnCancel(func(*sip.Request) { in.onCancel() })
	ir.CallID, ir.SDP = in.callID, req.Body()
	ev := s.engine.Invite(context.Background(), ir, in)
	if ev != nil {
		in.mu.Lock()
		in.events = ev
		pending := in.cancelled
		in.mu.Unlock()
		if pending {
			ev.Cancel()
		}
	}
	if front {
		ft.keep() // the front's transaction lives on without its handler
		return
	}
	// sipgo ends the transaction when the handler returns: wait for the
	// final response (or the transaction's end) first.
	select {
	case <-in.finalCh:
	case <-tx.Done():
		in.onCancel()
	}
}

func (in *inbound) onCancel() {
	in.mu.Lock()
	if in.final {
		in.mu.Unlock()
		return
	}
	in.final, in.cancelled = true, true
	close(in.finalCh)
	ev := in.events
	in.mu.Unlock()
	if ev != nil {
		ev.Cancel()
	}
}

func (in *inbound) response(code int, reason string, sdp []byte) *sip.Response {
	res := responseTagged(in.req, code, reason, in.localTag)
	if code > 100 && code < 300 {
		res.AppendHeader(in.s.contact(in.req.Transport()))
	}
	if len(sdp) > 0 {
		res.AppendHeader(in.s.fixed.sdp)
		setBody(res, sdp)
	}
	return res
}

// Progress implements callctl.Inbound.
func (in *inbound) Progress(code int, reason string, sdp []byte) error {
	in.mu.Lock()
	done := in.final
	in.mu.Unlock()
	if done {
		return nil
	}
	return in.tx.Respond(in.response(code, reason, sdp))
}

// Answer implements callctl.Inbound: 200 OK, retransmitted until ACK.
func (in *inbound) Answer(sdp []byte) error {
	in.mu.Lock()
	if in.final {
		in.mu.Unlock()
		return errCancelled
	}
	in.final = true
	in.mu.Unlock()
	// The handler waits on finalCh and sipgo ends the transaction when it
	// returns: only release it once the response is on its way.
	defer close(in.finalCh)
	res := in.response(200, "OK", sdp)
	for _, h := range in.st.responseHeaders() {
		res.AppendHeader(h)
	}
	if err := in.tx.Respond(res); err != nil {
		return err
	}
	in.st.exchanged(sdp, nil)
	in.st.arm()
	if !sip.IsReliable(in.req.Transport()) {
		in.retransmit(res)
	}
	return nil
}

// retransmit resends the 2xx until the ACK comes (RFC 3261 §13.3.1.4); with
// no ACK after 64*T1 the session ends with a BYE to the caller and the call
// is released. One timer does it, re-armed from its own callback: no
// goroutine waits for the ACK, and the ACK stops the timer (ackReceived).
func (in *inbound) retransmit(res *sip.Response) {
	t1, t2 := sip.T1, sip.T2
	if in.rtxT1 > 0 {
		t1, t2 = in.rtxT1, in.rtxT2
	}
	deadline := time.Now().Add(64 * t1)
	interval := t1 // touched only by the callback: one runs at a time
	var fire func()
	fire = func() {
		select {
		case <-in.acked:
			return
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			in.unacknowledged()
			return
		}
		if err := in.tx.Respond(res); err != nil {
			return
		}
		if interval *= 2; interval > t2 {
			interval = t2
		}
		in.mu.Lock()
		if in.rtx != nil {
			in.rtx.Reset(min(interval, left))
		}
		in.mu.Unlock()
	}
	in.mu.Lock()
	select {
	case <-in.acked: // the ACK overtook us
	default:
		in.rtx = time.AfterFunc(interval, fire)
	}
	in.mu.Unlock()
}

// unacknowledged ends a session whose 2xx was never acknowledged.
func (in *inbound) unacknowledged() {
	in.mu.Lock()
	ev, rel := in.events, in.released
	in.mu.Unlock()
	if ev != nil && !rel {
		go func() {
			if err := in.Bye(); err != nil {
				in.s.log.Debug("bye after unacknowledged 2xx", "call_id", in.callID, "err", err)
			}
		}()
		ev.Bye()
	}
}

// ackReceived ends the 2xx retransmissions (ACK, or the dialog ended).
func (in *inbound) ackReceived() {
	in.ackOnce.Do(func() {
		in.mu.Lock()
		close(in.acked)
		if in.rtx != nil {
			in.rtx.Stop()
			in.rtx = nil
		}
		in.mu.Unlock()
	})
}

// Reject implements callctl.Inbound.
func (in *inbound) Reject(code int, reason string) error {
	in.mu.Lock()
	if in.final {
		in.mu.Unlock()
		return nil
	}
	in.final = true
	in.mu.Unlock()
	defer close(in.finalCh)
	return in.tx.Respond(in.response(code, reason, nil))
}

// newRequest builds a request inside the caller's dialog (we are the UAS:
// our From is their To with our tag).
func (in *inbound) newRequest(method sip.RequestMethod) *sip.Request {
	in.mu.Lock()
	in.cseq++
	seq := in.cseq
	target := in.remoteTarget
	in.mu.Unlock()
	r := sip.NewRequest(method, target)
	if to := in.req.To(); to != nil {
		from := &sip.FromHeader{DisplayName: to.DisplayName, Address: to.Address, Params: sip.NewParams()}
		from.Params.Add("tag", in.localTag)
		r.AppendHeader(from)
	}
	if f := in.req.From(); f != nil {
		to := &sip.ToHeader{DisplayName: f.DisplayName, Address: f.Address, Params: f.Params.Clone()}
		r.AppendHeader(to)
	}
	cid := sip.CallIDHeader(in.callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	addRoutes(r, in.routeSet)
	in.s.route(r, in.req.Transport(), in.source)
	return r
}

// Bye implements callctl.Inbound.
func (in *inbound) Bye() error {
	ctx, cancel := context.WithTimeout(context.Background(), 32*sip.T1)
	defer cancel()
	in.ackReceived()
	_, err := in.s.do(ctx, in.newRequest(sip.BYE))
	return err
}

// ReInvite implements callctl.Inbound.
func (in *inbound) ReInvite(sdp []byte) (int, []byte, error) {
	return in.s.sendReInvite(in.newRequest(sip.INVITE), sdp, in.st)
}

// Release implements callctl.Inbound.
func (in *inbound) Release() {
	in.mu.Lock()
	in.released = true
	in.mu.Unlock()
	in.st.stop()
	in.s.dialogs.del(in.callID, in)
}

// expired reports the end of the leg's session timer to the call.
func (in *inbound) expired(reason string) {
	in.mu.Lock()
	ev, rel := in.events, in.released
	in.mu.Unlock()
	if ev != nil && !rel {
		ev.Expired(reason)
	}
}

func (in *inbound) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	in.mu.Lock()
	ev := in.events
	in.mu.Unlock()
	if ev == nil {
		in.s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	in.s.onUpdate(req, tx, in.st)
}

func (in *inbound) onAck(req *sip.Request) {
	in.ackReceived()
	in.mu.Lock()
	ev := in.events
	in.mu.Unlock()
	if ev != nil {
		ev.Ack()
	}
}

func (in *inbound) onBye(req *sip.Request, tx sip.ServerTransaction) {
	in.ackReceived()
	in.mu.Lock()
	ev := in.events
	in.mu.Unlock()
	// Answer once the call has ended and its CDR is recorded: a caller
	// that saw its BYE answered has its CDR, even after kill -9. Over the
	// UDP front without waiting for it (the handler runs on a reader).
	if r, ok := ev.(interface{ ByeReply(func()) }); ok && deferAnswer(tx) {
		r.ByeReply(func() { in.s.respond(req, tx, 200, "OK") })
		return
	}
	if w, ok := ev.(interface{ ByeWait() }); ok {
		w.ByeWait()
		in.s.respond(req, tx, 200, "OK")
		return
	}
	in.s.respond(req, tx, 200, "OK")
	if ev != nil {
		ev.Bye()
	}
}

func (in *inbound) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	in.mu.Lock()
	ev := in.events
	if c := req.Contact(); c != nil {
		in.remoteTarget = *c.Address.Clone()
	}
	in.mu.Unlock()
	if ev == nil {
		in.s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	in.s.onPeerReInvite(req, tx, in.st, ev.ReInvite)
}
