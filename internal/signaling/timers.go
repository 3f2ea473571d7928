package signaling

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
)

// Session timers (RFC 4028), run on each leg of the B2BUA independently:
// the caller's leg (we are UAS) and every callee leg (we are UAC) have their
// own interval and refresher. When we are the refresher we refresh at half
// the interval (UPDATE without a body when the peer allows it, else a
// re-INVITE with the SDP we last sent on that leg); when the peer is, the
// session expires at interval - min(32 s, interval/3) without a refresh
// (§10). Expiry and a refresh answered 408/481 (or not at all) are
// reported to call control, which releases the call. ADR 0005.

// TimerConfig configures session timers.
type TimerConfig struct {
	// SessionExpires is the interval we ask for and the most we accept, in
	// seconds (default 1800).
	SessionExpires int
	// MinSE is the smallest interval we accept, in seconds (default 90, the
	// RFC 4028 floor); smaller requests get 422 with Min-SE.
	MinSE int
	// Unit is the length of one second of these intervals. TESTS ONLY
	// (config testTimerSecondMs): real-peer tests shrink it so a 90 s
	// interval passes in 9 s. Default 1 s.
	Unit time.Duration
}

// Defaults of TimerConfig.
const (
	DefaultSessionExpires = 1800
	DefaultMinSE          = 90
)

func (c TimerConfig) withDefaults() TimerConfig {
	if c.MinSE <= 0 {
		c.MinSE = DefaultMinSE
	}
	if c.SessionExpires <= 0 {
		c.SessionExpires = DefaultSessionExpires
	}
	if c.SessionExpires < c.MinSE {
		c.SessionExpires = c.MinSE
	}
	if c.Unit <= 0 {
		c.Unit = time.Second
	}
	return c
}

const tagTimer = "timer"

// hasOption says whether a Supported/Require style header (by its full or
// compact name) lists tag.
func hasOption(m message, name, compact, tag string) bool {
	for _, h := range m.Headers() {
		if isNamed(h, name, compact) && listHas(h.Value(), tag) {
			return true
		}
	}
	return false
}

// parseSessionExpires parses "delta-seconds *(;param)" (RFC 4028 §4): the
// interval and the refresher param ("uac", "uas" or ""). ok is false when
// absent or malformed.
func parseSessionExpires(v string) (secs int, refresher string, ok bool) {
	delta, params, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(delta))
	if err != nil || n <= 0 {
		return 0, "", false
	}
	if params != "" {
		p := sip.NewParams()
		if _, err := sip.UnmarshalHeaderParams(params, ';', 0, &p); err != nil {
			return 0, "", false
		}
		if r, found := p.Get("refresher"); found {
			switch r = strings.ToLower(r); r {
			case "uac", "uas":
				refresher = r
			default:
				return 0, "", false
			}
		}
	}
	return n, refresher, true
}

// sessionExpires reads a message's Session-Expires header.
func sessionExpires(m message) (secs int, refresher string, ok bool) {
	v, ok := firstValue(m, "Session-Expires", "x")
	if !ok {
		return 0, "", false
	}
	return parseSessionExpires(v)
}

// minSE reads a message's Min-SE header (0 when absent or malformed).
func minSE(m message) int {
	v, ok := firstValue(m, "Min-SE", "")
	if !ok {
		return 0
	}
	delta, _, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(delta))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func allowsUpdate(m message) bool {
	return hasOption(m, "Allow", "", "UPDATE")
}

// sessionTimer is one leg's session timer and what a refresh needs.
type sessionTimer struct {
	cfg TimerConfig
	log func(msg string, args ...any)

	mu         sync.Mutex
	interval   int  // seconds; 0: no timer
	weRefresh  bool // we send the refreshes
	peerTimer  bool // the peer supports "timer" (Require: timer in our 2xx)
	peerUpdate bool // the peer allows UPDATE
	lastSent   []byte
	lastRecv   []byte
	refreshT   *time.Timer
	expireT    *time.Timer
	stopped    bool

	// newRequest builds an in-dialog request on the leg; expired reports
	// the end of the session to call control.
	newRequest func(sip.RequestMethod) *sip.Request
	expired    func(reason string)
	send       func(r *sip.Request, sdp []byte) (*sip.Response, error)
}

// arm (re)starts the timers for the current interval and role.
func (st *sessionTimer) arm() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.armLocked()
}

func (st *sessionTimer) armLocked() {
	if st.refreshT != nil {
		st.refreshT.Stop()
		st.refreshT = nil
	}
	if st.expireT != nil {
		st.expireT.Stop()
		st.expireT = nil
	}
	if st.stopped || st.interval <= 0 {
		return
	}
	unit := st.cfg.Unit
	iv := time.Duration(st.interval) * unit
	if st.weRefresh {
		st.refreshT = time.AfterFunc(iv/2, st.refresh)
		st.expireT = time.AfterFunc(iv, func() { st.expire(callctl.ReasonSessionExpired) })
		return
	}
	// RFC 4028 §10: interval minus min(32 s, interval/3).
	grace := min(32*unit, iv/3)
	st.expireT = time.AfterFunc(iv-grace, func() { st.expire(callctl.ReasonSessionExpired) })
}

func (st *sessionTimer) stop() {
	st.mu.Lock()
	st.stopped = true
	st.armLocked()
	st.mu.Unlock()
}

func (st *sessionTimer) expire(reason string) {
	st.mu.Lock()
	if st.stopped {
		st.mu.Unlock()
		return
	}
	st.stopped = true
	st.armLocked()
	st.mu.Unlock()
	st.log("session timer expired", "reason", reason)
	st.expired(reason)
}

// timerHeaders are the headers of a refresh request we send.
func (st *sessionTimer) requestHeaders() []sip.Header {
	st.mu.Lock()
	defer st.mu.Unlock()
	ref := "uas"
	if st.weRefresh {
		ref = "uac" // we send this request
	}
	return []sip.Header{
		sip.NewHeader("Supported", tagTimer),
		sip.NewHeader("Session-Expires", strconv.Itoa(st.interval)+";refresher="+ref),
		sip.NewHeader("Min-SE", strconv.Itoa(st.cfg.MinSE)),
	}
}

// responseHeaders are the session-timer headers of our 2xx to a request
// from the peer (refresher relative to that transaction: the peer is UAC).
func (st *sessionTimer) responseHeaders() []sip.Header {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.interval <= 0 {
		return nil
	}
	ref := "uac"
	if st.weRefresh {
		ref = "uas"
	}
	h := []sip.Header{sip.NewHeader("Supported", tagTimer),
		sip.NewHeader("Session-Expires", strconv.Itoa(st.interval)+";refresher="+ref)}
	if st.peerTimer {
		h = append(h, sip.NewHeader("Require", tagTimer))
	}
	return h
}

// negotiate applies a request received from the peer (initial INVITE or a
// refresh: re-INVITE or UPDATE) as UAS: it returns false and the Min-SE to
// answer 422 with when the asked interval is too small.
func (st *sessionTimer) negotiate(req *sip.Request) (ok bool, minimum int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	se, ref, hasSE := sessionExpires(req)
	floor := max(st.cfg.MinSE, minSE(req))
	if hasSE && se < st.cfg.MinSE {
		return false, st.cfg.MinSE
	}
	st.peerTimer = st.peerTimer || hasOption(req, "Supported", "k", tagTimer) || hasOption(req, "Require", "", tagTimer)
	st.peerUpdate = st.peerUpdate || allowsUpdate(req)
	switch {
	case hasSE:
		st.interval = max(min(se, st.cfg.SessionExpires), floor)
	case st.interval == 0:
		st.interval = max(st.cfg.SessionExpires, floor)
	}
	switch {
	case !st.peerTimer:
		st.weRefresh = true // RFC 4028 §9: a UAS without a timer-aware peer refreshes itself
	case ref != "":
		st.weRefresh = ref == "uas"
	}
	return true, 0
}

// answered applies the 2xx to our INVITE (we are UAC, the leg's initial
// INVITE or a refresh): the interval and refresher it names; without
// Session-Expires the peer has no timer and we refresh with our interval
// (a keep-alive that finds a vanished peer).
func (st *sessionTimer) answered(res *sip.Response, asked int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.peerUpdate = st.peerUpdate || allowsUpdate(res)
	se, ref, ok := sessionExpires(res)
	if !ok {
		st.interval, st.weRefresh = asked, true
		return
	}
	st.peerTimer = true
	st.interval = se
	st.weRefresh = ref != "uas"
}

// sdpChanged says whether a peer's body differs from the SDP it last sent
// on this leg (an empty body is no change: a refresh without an offer).
func (st *sessionTimer) sdpChanged(body []byte) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(body) > 0 && !bytes.Equal(body, st.lastRecv)
}

// exchanged records the SDP of a completed offer/answer on the leg.
func (st *sessionTimer) exchanged(sent, recv []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(sent) > 0 {
		st.lastSent = sent
	}
	if len(recv) > 0 {
		st.lastRecv = recv
	}
}

func (st *sessionTimer) current() (sent []byte, update bool, interval int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lastSent, st.peerUpdate, st.interval
}

// refresh sends one session refresh (we are the refresher).
func (st *sessionTimer) refresh() {
	sdp, update, asked := st.current()
	for attempt := 0; attempt < 2; attempt++ {
		method := sip.INVITE
		if update {
			method, sdp = sip.UPDATE, nil
		}
		r := st.newRequest(method)
		for _, h := range st.requestHeaders() {
			r.AppendHeader(h)
		}
		res, err := st.send(r, sdp)
		switch {
		case err != nil || res == nil:
			st.log("session refresh got no answer", "method", method, "err", err)
			st.expire(callctl.ReasonRefreshFailed)
			return
		case res.IsSuccess():
			st.answered(res, asked)
			if method == sip.INVITE {
				st.exchanged(nil, res.Body())
			}
			st.arm()
			return
		case res.StatusCode == 408 || res.StatusCode == 481:
			st.log("session refresh failed", "method", method, "status", res.StatusCode)
			st.expire(callctl.ReasonRefreshFailed)
			return
		case res.StatusCode == 422:
			st.mu.Lock()
			if m := minSE(res); m > st.interval {
				st.interval = m
			}
			asked = st.interval
			st.mu.Unlock()
		default:
			// RFC 4028 §10: the session goes on until it expires.
			st.log("session refresh refused", "method", method, "status", res.StatusCode)
			return
		}
	}
}

// newTimer is a leg's session timer; newRequest builds a request in the
// leg's dialog, expired reports the session's end to the call.
func (s *Server) newTimer(newRequest func(sip.RequestMethod) *sip.Request, expired func(string)) *sessionTimer {
	return &sessionTimer{cfg: s.cfg.Timers, log: s.log.Info, newRequest: newRequest, expired: expired, send: s.sendRefresh}
}

// sendRefresh sends an in-dialog INVITE or UPDATE and returns its final
// response (an INVITE's 2xx is ACKed).
func (s *Server) sendRefresh(r *sip.Request, sdp []byte) (*sip.Response, error) {
	if r.Method == sip.INVITE {
		return s.reInviteResponse(r, sdp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
	defer cancel()
	return s.do(ctx, r)
}

// answerRefresh answers a refresh from the peer locally — a re-INVITE whose
// SDP did not change (or that has none) or a bodyless UPDATE — with the SDP
// we last sent, and re-arms the timer.
func (s *Server) answerRefresh(req *sip.Request, tx sip.ServerTransaction, st *sessionTimer) {
	if ok, floor := st.negotiate(req); !ok {
		s.respond(req, tx, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", strconv.Itoa(floor)))
		return
	}
	res := responseTo(req, 200, "OK")
	res.AppendHeader(s.contact(req.Transport()))
	for _, h := range st.responseHeaders() {
		res.AppendHeader(h)
	}
	if req.Method == sip.INVITE {
		if sdp, _, _ := st.current(); len(sdp) > 0 {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			setBody(res, sdp)
		}
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond refresh", "err", err)
		return
	}
	st.arm()
}

// onPeerReInvite handles a re-INVITE on a leg: answered locally when it is
// only a refresh, else relayed through the call (the session-timer headers
// are added to a 2xx, which also re-arms the timer).
func (s *Server) onPeerReInvite(req *sip.Request, tx sip.ServerTransaction, st *sessionTimer,
	relay func(sdp []byte, reply func(int, []byte))) {
	if !st.sdpChanged(req.Body()) {
		s.answerRefresh(req, tx, st)
		return
	}
	if ok, floor := st.negotiate(req); !ok {
		s.respond(req, tx, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", strconv.Itoa(floor)))
		return
	}
	s.serveReInvite(req, tx, st.responseHeaders, func(sdp []byte, reply func(int, []byte)) {
		relay(sdp, func(code int, answer []byte) {
			if code >= 200 && code < 300 {
				st.exchanged(answer, req.Body())
				st.arm()
			}
			reply(code, answer)
		})
	})
}

// sendReInvite sends a re-INVITE relayed from the other leg: it carries our
// session-timer headers and, answered 2xx, counts as a refresh.
func (s *Server) sendReInvite(r *sip.Request, sdp []byte, st *sessionTimer) (int, []byte, error) {
	_, _, asked := st.current()
	if asked > 0 {
		for _, h := range st.requestHeaders() {
			r.AppendHeader(h)
		}
	}
	res, err := s.reInviteResponse(r, sdp)
	if err != nil {
		return 0, nil, err
	}
	if res.IsSuccess() {
		if asked > 0 {
			st.answered(res, asked)
		}
		st.exchanged(sdp, res.Body())
		st.arm()
	}
	return res.StatusCode, res.Body(), nil
}

// onUpdate handles an UPDATE in a leg's dialog: a bodyless one is a
// session refresh; media changes are made with re-INVITE.
func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction, st *sessionTimer) {
	if len(req.Body()) > 0 {
		s.respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	s.answerRefresh(req, tx, st)
}
