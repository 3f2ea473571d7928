package signaling

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
)

var errCancelled = errors.New("leg cancelled")

// outbound is one callee device's leg: the UAC side of the B2BUA.
type outbound struct {
	s      *Server
	ev     callctl.LegEvents
	invite *sip.Request
	tx     sip.ClientTransaction
	callID string
	dest   string
	tp     string

	mu           sync.Mutex
	provisional  bool // any 1xx seen: CANCEL is allowed
	cancelWanted bool
	cancelSent   bool
	silenced     bool // after Cancel/Release nothing is reported
	confirmed    bool
	cseq         uint32
	to           *sip.ToHeader // with the callee's tag
	remoteTarget sip.Uri
	routeSet     []sip.Uri // the 2xx's Record-Route, reversed (RFC 3261 §12.1.2)
	retried422   bool      // the INVITE was re-sent after 422 (RFC 4028 §7.4)
	gen          uint32    // which INVITE transaction is the leg's (1; 2 after a 422)
	final        bool      // that transaction's final response (or its end) is handled

	st *sessionTimer // RFC 4028 on this leg (timers.go)
}

var (
	_ callctl.Outbound = (*outbound)(nil)
	_ callctl.ByeThen  = (*outbound)(nil)
)

// Dial implements callctl.Dialer.
func (s *Server) Dial(ctx context.Context, d callctl.Dial, ev callctl.LegEvents) (callctl.Outbound, error) {
	if s.closing.Load() {
		return nil, errors.New("server closing")
	}
	var target sip.Uri
	var to *sip.ToHeader
	tp, dest := strings.ToUpper(d.Target.Transport), d.Target.Source
	if t := d.Trunk; t != nil {
		target = sip.Uri{Scheme: "sip", User: t.Called, Host: t.FQDN, Port: t.Port, UriParams: sip.NewParams()}
		toURI := sip.Uri{Scheme: "sip", User: t.Called, Host: t.FQDN, UriParams: sip.NewParams()}
		if !t.Peer { // the cloud–edge trunk carries addresses, not numbers
			target.UriParams.Add("user", "phone")
			toURI.UriParams.Add("user", "phone")
		}
		to = &sip.ToHeader{Address: toURI, Params: sip.NewParams()}
		tp, dest = strings.ToUpper(t.Transport), t.Address
	} else {
		if err := sip.ParseUri(d.Target.Contact, &target); err != nil {
			return nil, err
		}
		to = &sip.ToHeader{DisplayName: d.Callee.DisplayName, Params: sip.NewParams(),
			Address: sip.Uri{Scheme: "sip", User: d.Callee.Username(), Host: d.Callee.Domain()}}
	}
	if tp == "" {
		tp = "UDP"
	}
	if dest == "" {
		dest = target.HostPort()
	}
	r := sip.NewRequest(sip.INVITE, target)
	fromURI := sip.Uri{Scheme: "sip", User: d.From.User, Host: d.From.Host}
	if strings.HasPrefix(d.From.User, "+") {
		fromURI.UriParams = sip.NewParams()
		fromURI.UriParams.Add("user", "phone")
	}
	from := &sip.FromHeader{DisplayName: d.From.Name, Params: sip.NewParams(), Address: fromURI}
	anonymous := d.Trunk != nil && d.Trunk.Anonymous
	if anonymous { // RFC 3323 §4.1.1.3
		from = &sip.FromHeader{DisplayName: "Anonymous", Params: sip.NewParams(),
			Address: sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}}
	}
	from.Params.Add("tag", newTag())
	cid := sip.CallIDHeader(newCallID())
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(from)
	r.AppendHeader(to)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	r.AppendHeader(&mf)
	r.AppendHeader(s.contact(tp))
	if d.Trunk != nil && d.Trunk.ForwardPAI && d.From.User != "" {
		r.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<"+fromURI.String()+">"))
	}
	if anonymous {
		r.AppendHeader(sip.NewHeader("Privacy", "id"))
	}
	if d.Trunk != nil && d.Trunk.ForwardHistory {
		r.AppendHeader(sip.NewHeader("History-Info", "<"+target.String()+">;index=1"))
	}
	r.AppendHeader(s.fixed.allow)
	r.AppendHeader(s.fixed.supported)
	r.AppendHeader(s.fixed.sessionExpires)
	r.AppendHeader(s.fixed.minSE)
	r.AppendHeader(s.fixed.userAgent)
	if len(d.SDP) > 0 {
		r.AppendHeader(s.fixed.sdp)
	}
	setBody(r, d.SDP)
	s.route(r, tp, dest)
	o := &outbound{s: s, ev: ev, invite: r, callID: string(cid), dest: dest, tp: tp, cseq: 1,
		remoteTarget: target, gen: 1}
	o.st = s.newTimer(func(m sip.RequestMethod) *sip.Request { return o.newRequest(m, o.nextSeq()) }, o.expired)
	o.st.exchanged(d.SDP, nil)
	s.dialogs.put(o.callID, o)
	// The responses are handled as they come (response, ended), on the
	// reader that received them: they may come before this returns.
	tx, err := s.transactionTo(r, inviteSink{o: o, gen: 1})
	if err != nil {
		s.dialogs.del(o.callID, o)
		return nil, err
	}
	o.mu.Lock()
	o.tx = tx
	o.mu.Unlock()
	return o, nil
}

// inviteSink takes the responses of one of the leg's INVITE transactions:
// the first, or the one re-sent after a 422 (gen tells them apart; what a
// superseded one reports is ignored).
type inviteSink struct {
	o   *outbound
	gen uint32
}

func (k inviteSink) response(tx sip.ClientTransaction, res *sip.Response) { k.o.response(k, tx, res) }
func (k inviteSink) ended(_ sip.ClientTransaction, err error)             { k.o.ended(k, err) }

// response handles a response to the leg's INVITE, in order, on the
// goroutine that received it (a front reader): up to the final one.
func (o *outbound) response(k inviteSink, tx sip.ClientTransaction, res *sip.Response) {
	o.mu.Lock()
	if k.gen != o.gen || o.final {
		o.mu.Unlock()
		return
	}
	if res.IsProvisional() {
		o.provisional = true
		sendCancel := o.cancelWanted && !o.cancelSent
		o.cancelSent = o.cancelSent || sendCancel
		quiet := o.silenced
		o.mu.Unlock()
		if sendCancel {
			go o.sendCancel()
		}
		if res.StatusCode > 100 && !quiet {
			o.ev.Provisional(res.StatusCode, res.Reason, res.Body())
		}
		return
	}
	o.final = true
	o.mu.Unlock()
	if res.IsSuccess() {
		o.answered(tx, res)
		return
	}
	if res.StatusCode == 422 && o.retry422(res) {
		return
	}
	o.fail(res.StatusCode, res.Reason)
}

// ended handles the end of the leg's INVITE transaction without a final
// response: Timer B (408), a transport error (503), or given up.
func (o *outbound) ended(k inviteSink, err error) {
	o.mu.Lock()
	if k.gen != o.gen || o.final {
		o.mu.Unlock()
		return
	}
	o.final = true
	o.mu.Unlock()
	if err != nil && !errors.Is(err, sip.ErrTransactionTimeout) {
		o.fail(503, "Service Unavailable")
		return
	}
	o.fail(408, "Request Timeout")
}

// fail ends the leg unanswered: the call hears of it unless the leg was
// silenced (cancelled, released), and the leg leaves the dialog table.
func (o *outbound) fail(code int, reason string) {
	o.mu.Lock()
	quiet := o.silenced
	o.silenced = true
	o.mu.Unlock()
	if !quiet {
		o.ev.Failed(code, reason)
	}
	o.s.dialogs.del(o.callID, o)
}

func (o *outbound) answered(tx sip.ClientTransaction, res *sip.Response) {
	o.mu.Lock()
	if to := res.To(); to != nil {
		o.to = to
	}
	if c := res.Contact(); c != nil {
		o.remoteTarget = *c.Address.Clone()
	}
	o.routeSet = recordRoutes(res, true)
	o.confirmed = true
	quiet := o.silenced
	seq := o.invite.CSeq().SeqNo
	o.mu.Unlock()
	// A retransmitted 2xx (rare) gets the same ACK again, for Timer M
	// (32 s): what is kept for it holds neither o nor the ACK's headers.
	if err := o.s.ackAnswer(tx, o.newRequest(sip.ACK, seq)); err != nil {
		o.s.log.Debug("ack", "err", err)
	}
	if quiet { // cancelled or released while the 2xx was on its way
		go func() { _ = o.Bye(); o.Release() }()
		return
	}
	o.st.answered(res, o.s.cfg.Timers.SessionExpires)
	o.st.exchanged(nil, res.Body())
	o.st.arm()
	o.ev.Answered(res.Body())
}

// retry422 re-sends the INVITE with the larger interval a 422 asks for
// (RFC 4028 §7.4), once. false: the 422 is final.
func (o *outbound) retry422(res *sip.Response) bool {
	floor := minSE(res)
	o.mu.Lock()
	if o.retried422 || o.silenced || floor <= 0 {
		o.mu.Unlock()
		return false
	}
	o.retried422 = true
	r := o.invite.Clone()
	o.cseq++
	r.CSeq().SeqNo = o.cseq
	o.mu.Unlock()
	r.RemoveHeader("Via")
	for _, n := range []string{"Session-Expires", "Min-SE"} {
		r.RemoveHeader(n)
	}
	r.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(max(floor, o.s.cfg.Timers.SessionExpires))))
	r.AppendHeader(sip.NewHeader("Min-SE", strconv.Itoa(floor)))
	o.s.route(r, o.tp, o.dest)
	// The new transaction is the leg's from now on: its responses may come
	// before transactionTo returns; a CANCEL waits for its first 1xx.
	o.mu.Lock()
	o.gen++
	gen := o.gen
	o.invite, o.final, o.provisional = r, false, false
	o.mu.Unlock()
	tx, err := o.s.transactionTo(r, inviteSink{o: o, gen: gen})
	if err != nil {
		o.s.log.Debug("invite after 422", "err", err)
		o.mu.Lock()
		o.final = true
		o.mu.Unlock()
		return false
	}
	o.mu.Lock()
	o.tx = tx
	o.mu.Unlock()
	return true
}

// sendCancel cancels the pending INVITE and gives the INVITE up when no
// final response follows within 64*T1 (giveUpAfter).
func (o *outbound) sendCancel() {
	go o.giveUpAfter(64 * sip.T1)
	o.mu.Lock()
	inv := o.invite
	o.mu.Unlock()
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	c.AppendHeader(sip.HeaderClone(inv.Via()))
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	o.s.route(c, o.tp, o.dest)
	ctx, cancel := context.WithTimeout(context.Background(), 32*sip.T1)
	defer cancel()
	if _, err := o.s.do(ctx, c); err != nil {
		o.s.log.Debug("cancel", "err", err)
	}
}

// giveUpAfter ends the cancelled INVITE's transaction when it has had no
// final response d after the CANCEL (RFC 3261 §9.1: the callee is gone, or
// it answered the CANCEL but never the INVITE). In Proceeding sipgo has no
// timer of its own that would end it (Timer B stops at the first 1xx), and
// the leg would stay in the dialog table for good; ended hears of the
// transaction's end and forgets the leg.
func (o *outbound) giveUpAfter(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	o.mu.Lock()
	tx := o.tx
	o.mu.Unlock()
	select {
	case <-tx.Done():
	case <-t.C:
		o.s.log.Debug("no final response to a cancelled INVITE", "call_id", o.callID)
		tx.Terminate()
	}
}

// Cancel implements callctl.Outbound.
func (o *outbound) Cancel() {
	o.mu.Lock()
	if o.silenced {
		o.mu.Unlock()
		return
	}
	o.silenced, o.cancelWanted = true, true
	send := o.provisional && !o.cancelSent && !o.confirmed
	o.cancelSent = o.cancelSent || send
	o.mu.Unlock()
	if send {
		go o.sendCancel()
	}
}

// newRequest builds a request in the callee's dialog.
func (o *outbound) newRequest(method sip.RequestMethod, seq uint32) *sip.Request {
	o.mu.Lock()
	target := o.remoteTarget
	to := o.to
	routes := o.routeSet
	inv := o.invite
	o.mu.Unlock()
	r := sip.NewRequest(method, target)
	// From, To and Call-ID are the INVITE's and the 2xx's own header
	// objects, shared, not copied (≈ 8 objects a request): as with
	// responseTo, no header is ever changed in place once in a message.
	r.AppendHeader(inv.From())
	if to != nil {
		r.AppendHeader(to)
	} else {
		r.AppendHeader(inv.To())
	}
	r.AppendHeader(inv.CallID())
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	addRoutes(r, routes)
	o.s.route(r, o.tp, o.dest)
	return r
}

func (o *outbound) nextSeq() uint32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cseq++
	return o.cseq
}

// Bye implements callctl.Outbound.
// ByeThen implements callctl.ByeThen: the BYE goes out in a client
// transaction whose final response (or end, Timer F) is handed to done on
// the goroutine that hears it — over the front, the reader that received
// the response — so no goroutine waits for it (issue #8: the goroutine
// that did parked and woke a thread per call).
func (o *outbound) ByeThen(done func(error)) {
	if _, err := o.s.transactionTo(o.newRequest(sip.BYE, o.nextSeq()), byeSink(done)); err != nil {
		done(err)
	}
}

// byeSink hands a BYE's outcome to a ByeThen callback: nil once a final
// response came (as Bye, whatever its status), the transaction's error
// when none did. A sink hears no end after a final response, so it runs
// once.
type byeSink func(error)

func (f byeSink) response(_ sip.ClientTransaction, res *sip.Response) {
	if !res.IsProvisional() {
		f(nil)
	}
}

func (f byeSink) ended(_ sip.ClientTransaction, err error) { f(err) }

func (o *outbound) Bye() error {
	growStack() // callctl sends it from a goroutine of its own (byeAsync), still shallow here
	// No deadline of its own: the BYE's transaction ends by itself, with its
	// final response or Timer F (64×T1, RFC 3261 §17.1.2.2), ours over the
	// UDP front as sipgo's otherwise. (A context.WithTimeout per call was
	// four allocations and a runtime timer.)
	_, err := o.s.do(context.Background(), o.newRequest(sip.BYE, o.nextSeq()))
	return err
}

// ReInvite implements callctl.Outbound.
func (o *outbound) ReInvite(sdp []byte) (int, []byte, error) {
	return o.s.sendReInvite(o.newRequest(sip.INVITE, o.nextSeq()), sdp, o.st)
}

// Release implements callctl.Outbound.
func (o *outbound) Release() {
	o.mu.Lock()
	o.silenced = true
	o.mu.Unlock()
	o.st.stop()
	o.s.dialogs.del(o.callID, o)
}

// expired reports the end of the leg's session timer to the call.
func (o *outbound) expired(reason string) {
	o.mu.Lock()
	quiet := o.silenced || !o.confirmed
	o.mu.Unlock()
	if !quiet {
		o.ev.Expired(reason)
	}
}

func (o *outbound) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	o.s.onUpdate(req, tx, o.st)
}

func (o *outbound) onAck(*sip.Request) {}

func (o *outbound) onBye(req *sip.Request, tx sip.ServerTransaction) {
	o.s.respond(req, tx, 200, "OK")
	o.mu.Lock()
	confirmed, quiet, inv := o.confirmed, o.silenced, o.tx
	if !confirmed && inv != nil {
		o.silenced = true
	}
	o.mu.Unlock()
	switch {
	case quiet || inv == nil:
	case confirmed:
		o.ev.Bye()
	default:
		// A BYE before we saw a 2xx: the callee answered, its 2xx was lost
		// and it has hung up since. The leg is over; stop retransmitting
		// the INVITE (ended hears of it, the leg silenced) and say so.
		inv.Terminate()
		o.ev.Failed(480, "Temporarily Unavailable")
	}
}

func (o *outbound) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	o.mu.Lock()
	if c := req.Contact(); c != nil {
		o.remoteTarget = *c.Address.Clone()
	}
	o.mu.Unlock()
	o.s.onPeerReInvite(req, tx, o.st, o.ev.ReInvite)
}

// --- shared helpers ---

// sipNoBuild sends a request exactly as built (our own Via already set).
func sipNoBuild(_ *sipgo.Client, _ *sip.Request) error { return nil }

// contact is our Contact header for a transport.
func (s *Server) contact(tp string) *sip.ContactHeader {
	c := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "sb", Host: s.host, Port: s.port}}
	if strings.EqualFold(tp, "TLS") && s.tls != nil {
		c.Address.Port = s.tlsPort
		if s.cfg.FQDN != "" {
			c.Address.Host = s.cfg.FQDN
		}
	}
	if sip.IsReliable(tp) {
		c.Address.UriParams = sip.NewParams()
		c.Address.UriParams.Add("transport", strings.ToLower(tp))
	}
	return c
}

// route sets where a request goes: the peer's real source (NAT) over the
// given transport, from our SIP socket for UDP.
func (s *Server) route(r *sip.Request, tp, dest string) {
	r.SetTransport(strings.ToUpper(tp))
	r.SetDestination(dest)
	if strings.EqualFold(tp, "UDP") {
		r.Laddr = s.udpAddr // its IP is shared: nothing writes into it
	}
}

// reInviteResponse sends an in-dialog INVITE, ACKs a 2xx and returns the
// final response.
func (s *Server) reInviteResponse(r *sip.Request, sdp []byte) (*sip.Response, error) {
	r.AppendHeader(s.contact(r.Transport()))
	if len(sdp) > 0 {
		r.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	setBody(r, sdp)
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
	defer cancel()
	tx, err := s.transaction(r)
	if err != nil {
		return nil, err
	}
	if _, ours := tx.(*udpClientTx); !ours {
		defer tx.Terminate() // as sipgo's Client.Do
	}
	res, err := finalResponse(ctx, tx)
	if err != nil {
		return nil, err
	}
	if res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, r.Recipient)
		ack.AppendHeader(sip.HeaderClone(r.From()))
		ack.AppendHeader(sip.HeaderClone(res.To()))
		ack.AppendHeader(sip.HeaderClone(r.CallID()))
		ack.AppendHeader(&sip.CSeqHeader{SeqNo: r.CSeq().SeqNo, MethodName: sip.ACK})
		mf := sip.MaxForwardsHeader(70)
		ack.AppendHeader(&mf)
		s.route(ack, r.Transport(), r.Destination())
		ack.Laddr = r.Laddr
		// A retransmitted 2xx (our ACK was lost) is ACKed again.
		if err := s.ackAnswer(tx, ack); err != nil {
			s.log.Debug("ack re-invite", "err", err)
		}
	}
	return res, nil
}

// serveReInvite relays a received re-INVITE through the call and answers it
// with the other party's result. It blocks until answered (sipgo ends the
// transaction when the handler returns).
func (s *Server) serveReInvite(req *sip.Request, tx sip.ServerTransaction, hdrs func() []sip.Header,
	relay func(sdp []byte, reply func(int, []byte))) {
	done := make(chan struct{})
	var once sync.Once
	relay(req.Body(), func(code int, sdp []byte) {
		once.Do(func() {
			res := responseTo(req, code, reasonFor(code))
			if code >= 200 && code < 300 {
				res.AppendHeader(s.contact(req.Transport()))
				if hdrs != nil {
					for _, h := range hdrs() {
						res.AppendHeader(h)
					}
				}
				if len(sdp) > 0 {
					res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
					setBody(res, sdp)
				}
			}
			if err := tx.Respond(res); err != nil {
				s.log.Debug("respond re-invite", "err", err)
			}
			close(done)
		})
	})
	select {
	case <-done:
	case <-tx.Done():
	case <-time.After(64 * sip.T1):
		once.Do(func() {
			s.respond(req, tx, 500, "Server Internal Error")
			close(done)
		})
	}
}
