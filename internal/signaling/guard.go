package signaling

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// GuardConfig tunes the bans of the request guard. Zero values take the
// defaults; a negative count turns that protection off.
type GuardConfig struct {
	// Brute force: AuthFailures failed digest challenges from one source
	// IP for one user within AuthWindow ban that IP for AuthBan.
	AuthFailures int           // default 5
	AuthWindow   time.Duration // default 60 s
	AuthBan      time.Duration // default 300 s

	// Flood: more than FloodPackets messages (UDP datagrams, TCP reads)
	// from one source IP within FloodWindow ban it for FloodBan. Off by
	// default: peers that are not configured gateways but send a lot (a
	// carrier, an office NAT) must be in Allow first.
	FloodPackets int           // default 0: off
	FloodWindow  time.Duration // default 2 s
	FloodBan     time.Duration // default 300 s

	// Allow lists sources never limited nor banned, besides the
	// configured gateways.
	Allow []netip.Prefix
}

func (c GuardConfig) withDefaults() GuardConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.AuthFailures == 0 {
		c.AuthFailures = 5
	}
	def(&c.AuthWindow, time.Minute)
	def(&c.AuthBan, 5*time.Minute)
	def(&c.FloodWindow, 2*time.Second)
	def(&c.FloodBan, 5*time.Minute)
	return c
}

// guardTableMax bounds each table of the guard: past it new sources are
// not tracked (fail open) until a sweep frees room, so a spoofed-source
// flood cannot exhaust memory.
const guardTableMax = 1 << 16

// guard holds the per-source state of the bans. Banned sources are
// dropped before parsing (readFilter) and, should one get through, before
// any handler (guarded). Safe for concurrent use.
type guard struct {
	cfg     GuardConfig
	now     func() time.Time
	log     *slog.Logger
	gateway func(netip.Addr) bool // a configured SBC/carrier: never limited nor banned

	anyBan    atomic.Bool // len(bans) > 0: the read filter's lock-free fast path
	mu        sync.Mutex
	bans      map[netip.Addr]time.Time // source → banned until
	failures  map[failKey][]time.Time  // recent failed challenges
	flood     map[netip.Addr]*floodWindow
	lastSweep time.Time
}

type failKey struct {
	ip   netip.Addr
	user string
}

type floodWindow struct {
	start time.Time
	n     int
}

func newGuard(cfg GuardConfig, log *slog.Logger, now func() time.Time) *guard {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &guard{cfg: cfg.withDefaults(), now: now, log: log, bans: map[netip.Addr]time.Time{},
		failures: map[failKey][]time.Time{}, flood: map[netip.Addr]*floodWindow{}}
}

// installGuard gives the server its guard (cfg.Guard, the real clock) and
// returns the option that puts the guard's read filter in sipgo's
// transport layer.
func (s *Server) installGuard() sipgo.UserAgentOption {
	s.guard = newGuard(s.cfg.Guard, s.log, time.Now)
	s.guard.gateway = func(ip netip.Addr) bool {
		p := s.peers()
		if p == nil {
			return false
		}
		_, ok := p.BySource(ip.String(), 0)
		return ok || len(p.AtAddress(ip.String())) > 0
	}
	return sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerReadFilter(s.guard.readFilter))
}

// errBanned closes a TCP connection from a banned source.
var errBanned = errors.New("source banned")

// readFilter sees every datagram and every TCP read before sipgo parses
// it: a banned source's bytes are dropped (a TCP connection is closed),
// and the flood counter runs. It must never return an error for UDP:
// sipgo would stop reading the listener.
func (g *guard) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if _, ok := info.RemoteAddr.(screenedAddr); ok {
		return data, nil // the UDP front screened it (udpfront.go)
	}
	if g.drops(addrIP(info.RemoteAddr)) {
		if sip.IsReliable(info.Transport) {
			return nil, errBanned
		}
		return nil, nil
	}
	return data, nil
}

// drops says whether a message from ip is dropped unread: the source is
// banned, or flooding now. Allowed sources are never banned, so the ban
// check needs no allow-list lookup; the flood counter, when on, does.
func (g *guard) drops(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	return g.banned(ip) || (g.cfg.FloodPackets > 0 && !g.allowed(ip) && g.flooding(ip))
}

// allowed: ip is in GuardConfig.Allow or is a configured gateway.
func (g *guard) allowed(ip netip.Addr) bool {
	for _, p := range g.cfg.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return g.gateway != nil && g.gateway(ip)
}

// banned says whether ip is banned now.
func (g *guard) banned(ip netip.Addr) bool {
	if !g.anyBan.Load() {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.bans[ip]
	if !ok {
		return false
	}
	if g.now().Before(until) {
		return true
	}
	delete(g.bans, ip)
	g.anyBan.Store(len(g.bans) > 0)
	return false
}

// flooding counts one message from ip and bans it when it passes the
// limit.
func (g *guard) flooding(ip netip.Addr) bool {
	if g.cfg.FloodPackets <= 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.sweepLocked(now)
	w := g.flood[ip]
	if w == nil {
		if len(g.flood) >= guardTableMax {
			return false
		}
		w = &floodWindow{start: now}
		g.flood[ip] = w
	}
	if now.Sub(w.start) >= g.cfg.FloodWindow {
		w.start, w.n = now, 0
	}
	w.n++
	if w.n <= g.cfg.FloodPackets {
		return false
	}
	delete(g.flood, ip)
	g.banLocked(ip, now, g.cfg.FloodBan, "flood", "", fmt.Sprintf("more than %d messages in %v", g.cfg.FloodPackets, g.cfg.FloodWindow))
	return true
}

// authFailed records a failed challenge of user from ip and bans ip when
// it is the AuthFailures-th within AuthWindow.
func (g *guard) authFailed(ip netip.Addr, user string) {
	if g.cfg.AuthFailures < 0 || !ip.IsValid() || g.allowed(ip) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.sweepLocked(now)
	k := failKey{ip, user}
	recent := g.failures[k]
	if recent == nil && len(g.failures) >= guardTableMax {
		return
	}
	recent = append(recentSince(recent, now.Add(-g.cfg.AuthWindow)), now)
	if len(recent) < g.cfg.AuthFailures {
		g.failures[k] = recent
		return
	}
	delete(g.failures, k)
	g.banLocked(ip, now, g.cfg.AuthBan, "brute-force", user,
		fmt.Sprintf("%d failed challenges in %v", len(recent), g.cfg.AuthWindow))
}

// recentSince drops the times before since, in place.
func recentSince(ts []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(since) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

func (g *guard) banLocked(ip netip.Addr, now time.Time, d time.Duration, kind, user, why string) {
	if len(g.bans) >= guardTableMax {
		g.log.Warn("security event", "event", "ban-table-full", "source", ip.String(), "user", user, "method", "", "reason", why)
		return
	}
	g.bans[ip] = now.Add(d)
	g.anyBan.Store(true)
	// The one log line per ban, in the stable security event format.
	g.log.Warn("security event", "event", "ban", "source", ip.String(), "user", user, "method", "",
		"reason", kind+": "+why, "ban_seconds", int(d/time.Second))
}

// sweepLocked forgets expired state, at most every few seconds.
func (g *guard) sweepLocked(now time.Time) {
	if now.Sub(g.lastSweep) < 5*time.Second {
		return
	}
	g.lastSweep = now
	for ip, until := range g.bans {
		if !now.Before(until) {
			delete(g.bans, ip)
		}
	}
	g.anyBan.Store(len(g.bans) > 0)
	for k, ts := range g.failures {
		if ts = recentSince(ts, now.Add(-g.cfg.AuthWindow)); len(ts) == 0 {
			delete(g.failures, k)
		} else {
			g.failures[k] = ts
		}
	}
	for ip, w := range g.flood {
		if now.Sub(w.start) >= g.cfg.FloodWindow {
			delete(g.flood, ip)
		}
	}
}

func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	return sourceIP(a.String())
}

// sourceIP is the IP of a host:port source address.
func sourceIP(hostport string) netip.Addr {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// guarded wraps a handler with the request guard: a banned source is
// dropped; then the checks RFC 3261 §8.2 asks of a UAS before any business
// logic, for what sipgo's parser lets through (RFC 4475 §3 says how each
// malformed message is answered). The checks depend on the message alone,
// never on whether a user exists, so they run before digest
// authentication without helping anyone enumerate accounts.
func (s *Server) guarded(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		ip := sourceIP(req.Source())
		if s.guard.banned(ip) {
			return // silently: the transaction ends unanswered
		}
		if tx != nil {
			w := &watchedTx{ServerTransaction: tx, s: s, req: req, ip: ip}
			if !sip.IsReliable(req.Transport()) {
				w.dest = req.Source()
			}
			tx = w
		}
		if rej := checkRequest(req); rej != nil {
			s.securityEvent("bad-request", req, "", rej.why)
			s.reject(req, tx, rej)
			return
		}
		h(req, tx)
	}
}

// watchedTx is the transaction the handlers answer through. For UDP it
// sends every response back to the address and port the request came
// from, as if the Via had rport (RFC 3581): a cloud PBX's phones sit behind
// NAT, where the Via's sent-by is unreachable, and a response must never
// be aimed at a port the request did not come from (Asterisk's
// force_rport, on by default); retransmissions reuse the message, so they
// follow it. It also tells the guard about failed challenges: a 401/407
// to a request that carried credentials, unless stale=true.
type watchedTx struct {
	sip.ServerTransaction
	s    *Server
	req  *sip.Request
	ip   netip.Addr
	dest string // "" keeps sipgo's choice (TCP: the connection)
}

func (t *watchedTx) Respond(res *sip.Response) error {
	if t.dest != "" {
		res.SetDestination(t.dest)
	}
	t.watch(res.StatusCode, staleChallenge(res))
	return t.ServerTransaction.Respond(res)
}

// respondWire is Respond for an answer written as bytes (answer.go): the
// same watch, then the transaction it wraps, a wireTx (wireOf).
func (t *watchedTx) respondWire(code int, stale bool, b []byte) error {
	t.watch(code, stale)
	return t.ServerTransaction.(wireTx).respondWire(code, stale, b)
}

func (t *watchedTx) wireTag() string { return t.ServerTransaction.(wireTx).wireTag() }

// watch tells the guard about a response with status code to t.req that
// is a failed challenge.
func (t *watchedTx) watch(code int, stale bool) {
	if !failedChallenge(t.req, code, stale) {
		return
	}
	user := ""
	if t.req.Method == sip.REGISTER {
		if to := t.req.To(); to != nil {
			user = aorOf(to.Address)
		}
	} else if from := t.req.From(); from != nil {
		user = aorOf(from.Address)
	}
	t.s.guard.authFailed(t.ip, user)
}

// failedChallenge: a response with status code challenges credentials
// req carried, and not only because the nonce was stale (stale: it
// carries a challenge with stale=true).
func failedChallenge(req *sip.Request, code int, stale bool) bool {
	creds := "Authorization"
	switch code {
	case 401:
	case 407:
		creds = "Proxy-Authorization"
	default:
		return false
	}
	return !stale && headerIn(req.Headers(), creds) != nil
}

// staleChallenge says whether res, a 401 or 407, carries a challenge with
// stale=true.
func staleChallenge(res *sip.Response) bool {
	chal := "WWW-Authenticate"
	switch res.StatusCode {
	case 401:
	case 407:
		chal = "Proxy-Authenticate"
	default:
		return false
	}
	for _, h := range res.Headers() {
		if strings.EqualFold(h.Name(), chal) && strings.Contains(strings.ToLower(h.Value()), "stale=true") {
			return true
		}
	}
	return false
}

// rejection is the answer to a request the guard refuses.
type rejection struct {
	code   int
	reason string
	hdrs   []sip.Header
	why    string // for the log, never sent
}

func reject(code int, why string, hdrs ...sip.Header) *rejection {
	reason := reasonFor(code)
	if code == 406 { // not in the shared table (status.go)
		reason = "Not Acceptable"
	}
	return &rejection{code: code, reason: reason, hdrs: hdrs, why: why}
}

// singleValued are the headers RFC 3261 §20 allows once per request; a
// second copy makes the request ambiguous (RFC 4475 multi01, mcl01).
var singleValued = [...]string{"From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}

// checkRequest returns why req must be refused, or nil. The order follows
// RFC 3261 §8.2: version, syntax, Request-URI, loops, extensions, content.
// An ACK is never answered: it always passes.
func checkRequest(req *sip.Request) *rejection {
	if req.IsAck() {
		return nil
	}
	if req.SipVersion != "SIP/2.0" { // RFC 3261 §8.1.1.2; RFC 4475 badvers
		return reject(505, "sip version "+req.SipVersion)
	}
	// Mandatory headers (RFC 3261 §8.1.1; RFC 4475 insuf).
	if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return reject(400, "missing mandatory header")
	}
	if name := repeatedHeader(req); name != "" {
		return reject(400, "repeated "+name)
	}
	// CSeq names the request's method (RFC 3261 §8.1.1.5; RFC 4475 mismatch01/02).
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return reject(400, "cseq method mismatch")
	}
	switch strings.ToLower(req.Recipient.Scheme) { // RFC 3261 §8.2.2.1; RFC 4475 unkscm
	case "sip", "sips", "tel":
	default:
		return reject(416, "request-uri scheme "+req.Recipient.Scheme)
	}
	if req.IsCancel() {
		return nil // hop by hop: Max-Forwards and Require do not apply
	}
	if rej := checkMaxForwards(req); rej != nil {
		return rej
	}
	if unsupported := unsupportedRequire(req); len(unsupported) > 0 { // RFC 3261 §8.2.2.3; RFC 4475 bext01
		return reject(420, "require "+strings.Join(unsupported, ","),
			sip.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
	}
	if req.IsInvite() {
		return checkInviteContent(req)
	}
	return nil
}

// repeatedHeader returns the first single-valued header req carries twice,
// or "". One pass over the headers: sipgo's GetHeaders lowercases every
// header name on every call.
func repeatedHeader(req *sip.Request) string {
	var seen [len(singleValued)]bool
	for _, h := range req.Headers() {
		name := h.Name()
		for i, sv := range singleValued {
			if sameName(name, sv) {
				if seen[i] {
					return sv
				}
				seen[i] = true
				break
			}
		}
	}
	return ""
}

// checkMaxForwards answers 483 to a request with Max-Forwards: 0 that we
// would pass on towards a user (RFC 3261 §16.3; RFC 4475 zeromf). The B2BUA
// starts each outgoing leg afresh, so this is where a loop through it
// stops. A request we answer as the endpoint — a REGISTER, a request to
// the server itself (no user part, e.g. an SBC's OPTIONS ping) or one
// inside a dialog — is processed as if the value were positive.
func checkMaxForwards(req *sip.Request) *rejection {
	mf := req.MaxForwards()
	if mf == nil || *mf > 0 || req.Method == sip.REGISTER || req.Recipient.User == "" {
		return nil
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		return nil
	}
	return reject(483, "max-forwards 0")
}

// optionSupported says whether we implement a SIP extension (option tag)
// a request may Require: RFC 4028 session timers ("timer", timers.go).
func optionSupported(tag string) bool {
	return strings.EqualFold(tag, tagTimer)
}

// unsupportedRequire lists the option tags of the Require headers we do
// not implement, in the order given.
func unsupportedRequire(req *sip.Request) []string {
	var out []string
	for _, h := range req.Headers() {
		if !strings.EqualFold(h.Name(), "Require") {
			continue
		}
		for _, tag := range strings.Split(h.Value(), ",") {
			if tag = strings.TrimSpace(tag); tag != "" && !optionSupported(tag) {
				out = append(out, tag)
			}
		}
	}
	return out
}

// checkInviteContent refuses an INVITE whose body is not SDP (415, RFC 3261
// §8.2.3; RFC 4475 invut) or that accepts no SDP in answer (406, RFC 4475
// sdp01). Multipart bodies are not taken apart: they are refused too.
func checkInviteContent(req *sip.Request) *rejection {
	if len(req.Body()) > 0 {
		if ct, ok := firstValue(req, "Content-Type", "c"); ok && mediaType(ct) != "application/sdp" {
			return reject(415, "content-type "+mediaType(ct), acceptSDP())
		}
	}
	var listed, sdp bool
	for _, h := range req.Headers() {
		if !isNamed(h, "Accept", "") {
			continue
		}
		for v := h.Value(); v != ""; {
			var t string
			t, v, _ = strings.Cut(v, ",")
			switch mediaType(t) {
			case "":
			case "application/sdp", "application/*", "*/*":
				listed, sdp = true, true
			default:
				listed = true
			}
		}
	}
	if listed && !sdp {
		return reject(406, "accept without application/sdp", acceptSDP())
	}
	return nil
}

// acceptSDP is the Accept header of a 415 or 406 to an INVITE.
func acceptSDP() sip.Header { return sip.NewHeader("Accept", "application/sdp") }

// mediaType is the lowercased type/subtype of a media-range or
// Content-Type value, without parameters.
func mediaType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// reject answers req with rej. The response is always SIP/2.0, whatever
// version the request claimed (a 505 must be readable).
func (s *Server) reject(req *sip.Request, tx sip.ServerTransaction, rej *rejection) {
	if tx == nil {
		return
	}
	res := s.response(req, rej.code, rej.reason, rej.hdrs...)
	res.SipVersion = "SIP/2.0"
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond", "err", err, "status", rej.code)
	}
}
