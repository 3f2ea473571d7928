package signaling

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
)

// frontServer starts a server with one user (alice, password pw) on
// 127.0.0.1 and returns it with a phone's UDP socket.
func frontServer(t *testing.T) (*Server, *net.UDPConn, auth.Credentials) {
	t.Helper()
	const realm = "contoso.com"
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@" + realm, Credentials: []pbx.Credential{{
		Realm: realm, Username: "alice", Algorithm: pbx.AlgMD5, HA1: auth.HA1(pbx.AlgMD5, "alice", realm, "pw")}}}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{realm}}}, []pbx.User{alice})
	nonces := auth.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, time.Now)
	s, phone := startWithPhone(t, dir, nonces)
	return s, phone, auth.Credentials{Username: "alice", Realm: realm}
}

// startWithPhone starts a server for dir (registrar without a store) on
// 127.0.0.1, and opens a phone's UDP socket there.
func startWithPhone(tb testing.TB, dir *directory.Directory, nonces *auth.Nonces) (*Server, *net.UDPConn) {
	tb.Helper()
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Directory: func() *directory.Directory { return dir },
		Nonces: nonces, Registrar: registrar.New(nopBindings{}, registrar.Config{}, time.Now, nil)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = phone.Close() })
	return s, phone
}

func sendTo(t *testing.T, phone *net.UDPConn, s *Server, msg string) {
	t.Helper()
	if _, err := phone.WriteToUDP([]byte(msg), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.Port()}); err != nil {
		t.Fatal(err)
	}
}

// recvRaw reads one datagram, or nil after wait.
func recvRaw(t *testing.T, phone *net.UDPConn, wait time.Duration) []byte {
	t.Helper()
	buf := make([]byte, 1<<16)
	_ = phone.SetReadDeadline(time.Now().Add(wait))
	n, _, err := phone.ReadFromUDP(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func recvResponse(t *testing.T, phone *net.UDPConn) (*sip.Response, []byte) {
	t.Helper()
	raw := recvRaw(t, phone, 5*time.Second)
	if raw == nil {
		t.Fatal("no response")
	}
	m, err := sip.ParseMessage(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	res, ok := m.(*sip.Response)
	if !ok {
		t.Fatalf("got a request: %q", raw)
	}
	return res, raw
}

func frontRegister(phone *net.UDPConn, branch string, cseq int, authz string) string {
	port := phone.LocalAddr().(*net.UDPAddr).Port
	msg := "REGISTER sip:contoso.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:" + itoa(port) + ";branch=" + branch + ";rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:alice@contoso.com>;tag=f1\r\nTo: <sip:alice@contoso.com>\r\n" +
		"Call-ID: front-1\r\nCSeq: " + itoa(cseq) + " REGISTER\r\n" +
		"Contact: <sip:alice@127.0.0.1:" + itoa(port) + ">\r\nExpires: 600\r\n"
	if authz != "" {
		msg += "Authorization: " + authz + "\r\n"
	}
	return msg + "Content-Length: 0\r\n\r\n"
}

// TestFrontReplaysRetransmissions: the UDP front answers REGISTER itself;
// a retransmission (same branch, same source) gets the very same bytes —
// the same nonce and To-tag for the 401, the same 200 for the registration
// instead of a 500 for a repeated CSeq — as a transaction would send.
func TestFrontReplaysRetransmissions(t *testing.T) {
	s, phone, creds := frontServer(t)

	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-r1", 1, ""))
	res, first := recvResponse(t, phone)
	if res.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d, want 401", res.StatusCode)
	}
	via := res.Via()
	if rport, _ := via.Params.Get("rport"); rport != itoa(phone.LocalAddr().(*net.UDPAddr).Port) {
		t.Errorf("Via rport = %q: the response must say where the request came from", rport)
	}
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-r1", 1, ""))
	if _, again := recvResponse(t, phone); !bytes.Equal(first, again) {
		t.Fatalf("retransmitted REGISTER answered anew:\n%s\nthen\n%s", first, again)
	}

	chal := res.GetHeader("WWW-Authenticate").Value()
	authz := digestAuthorization(t, chal, creds, "pw", "REGISTER", "sip:contoso.com")
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-r2", 2, authz))
	ok, okRaw := recvResponse(t, phone)
	if ok.StatusCode != 200 || ok.GetHeader("Contact") == nil {
		t.Fatalf("authenticated REGISTER: %d\n%s", ok.StatusCode, okRaw)
	}
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-r2", 2, authz))
	if _, again := recvResponse(t, phone); !bytes.Equal(okRaw, again) {
		t.Fatalf("retransmitted REGISTER answered anew:\n%s\nthen\n%s", okRaw, again)
	}
	// A new transaction with the same CSeq is out of order, as before.
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-r3", 2, authz))
	if res, _ := recvResponse(t, phone); res.StatusCode != 500 {
		t.Fatalf("repeated CSeq in a new transaction: %d, want 500", res.StatusCode)
	}
}

// TestFrontPassesTheRest: what the front does not answer reaches sipgo's
// transaction layer (an unknown method gets its 405 with Allow); a CRLF
// keep-alive gets nothing; OPTIONS is answered by the front.
func TestFrontPassesTheRest(t *testing.T) {
	s, phone, _ := frontServer(t)
	port := itoa(phone.LocalAddr().(*net.UDPAddr).Port)
	sendTo(t, phone, s, "\r\n\r\n")
	if raw := recvRaw(t, phone, 300*time.Millisecond); raw != nil {
		t.Fatalf("keep-alive answered: %q", raw)
	}
	for _, c := range []struct{ method, want string }{{"PUBLISH", "405"}, {"OPTIONS", "200"}} {
		sendTo(t, phone, s, c.method+" sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:"+port+";branch=z9hG4bK-"+c.method+"\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:alice@contoso.com>;tag=f1\r\nTo: <sip:contoso.com>\r\n"+
			"Call-ID: pass-"+c.method+"\r\nCSeq: 1 "+c.method+"\r\nContent-Length: 0\r\n\r\n")
		res, raw := recvResponse(t, phone)
		if itoa(res.StatusCode) != c.want {
			t.Fatalf("%s: %d, want %s\n%s", c.method, res.StatusCode, c.want, raw)
		}
		if c.want == "405" && !strings.Contains(string(raw), "Allow:") {
			t.Errorf("405 without Allow:\n%s", raw)
		}
	}
}

// TestFrontDropsBanned: a banned source's REGISTER gets no answer and is
// not remembered (its retransmissions are dropped the same way).
func TestFrontDropsBanned(t *testing.T) {
	s, phone, _ := frontServer(t)
	ip := phone.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
	s.guard.mu.Lock()
	s.guard.bans[ip] = time.Now().Add(time.Minute)
	s.guard.anyBan.Store(true)
	s.guard.mu.Unlock()
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-b1", 1, ""))
	if raw := recvRaw(t, phone, 300*time.Millisecond); raw != nil {
		t.Fatalf("banned source answered: %q", raw)
	}
	if n := s.udp.replay.len(); n != 0 {
		t.Fatalf("replay cache holds %d entries for a banned source", n)
	}
}

// TestReplayCacheGenerations: an answer is kept through keep (the
// generations before the oldest) and gone after; the budget drops old
// generations first and never the current one.
func TestReplayCacheGenerations(t *testing.T) {
	c := newReplayCache(replayShards * 1000)
	if _, st := c.begin("k", nil); st != replayNew {
		t.Fatalf("first begin: %v", st)
	}
	if _, st := c.begin("k", nil); st != replayPending {
		t.Fatalf("second begin while pending: %v", st)
	}
	c.finish("k", []byte("answer"))
	for i := 0; i < replayGenerations; i++ { // kept (replayGenerations-1) ticks at least
		if b, st := c.begin("k", nil); st != replayAnswer || string(b) != "answer" {
			t.Fatalf("after %d ticks: %v %q", i, st, b)
		}
		c.tick()
	}
	if _, st := c.begin("k", nil); st != replayNew {
		t.Fatalf("after %d ticks still there", replayGenerations)
	}
	c.abandon("k")
	if c.len() != 0 {
		t.Fatalf("abandon left %d", c.len())
	}

	// Budget: 1000 bytes a shard. Fill one shard's older generation, then
	// the current: the old one goes, the newest answer stays.
	big := bytes.Repeat([]byte("x"), 600)
	sh := c.shard("a")
	key := func(prefix string) string { // a key of the same shard
		for i := 0; ; i++ {
			k := prefix + itoa(i)
			if c.shard(k) == sh {
				return k
			}
		}
	}
	old, cur := key("old"), key("cur")
	c.begin(old, nil)
	c.finish(old, big)
	c.tick()
	c.begin(cur, nil)
	c.finish(cur, big)
	if _, st := c.begin(old, nil); st != replayNew {
		t.Errorf("over budget: the old generation was kept")
	}
	if _, st := c.begin(cur, nil); st != replayAnswer {
		t.Errorf("over budget: the current answer was dropped")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// digestAuthorization answers the challenge chal as a phone does (icholy/digest).
func digestAuthorization(t *testing.T, chal string, creds auth.Credentials, password, method, uri string) string {
	t.Helper()
	c, err := digest.ParseChallenge(chal)
	if err != nil {
		t.Fatalf("challenge %q: %v", chal, err)
	}
	d, err := digest.Digest(c, digest.Options{Method: method, URI: uri, Username: creds.Username,
		Password: password, Cnonce: "0a4f113b", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestSourceNames: the text of a source address, IPv4-mapped unmapped,
// the same string again for a known one, and right after the cache turns
// over.
func TestSourceNames(t *testing.T) {
	var c sourceNames
	a := netip.MustParseAddrPort("[::ffff:127.0.0.1]:5060")
	if got := c.name(a); got != "127.0.0.1:5060" {
		t.Fatalf("name %q", got)
	}
	if n := testing.AllocsPerRun(10, func() { c.name(a) }); n != 0 {
		t.Errorf("%.0f allocations for a known source", n)
	}
	for p := range uint16(9) {
		b := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), 6000+p)
		if got, want := c.name(b), b.String(); got != want {
			t.Fatalf("name %q, want %q", got, want)
		}
	}
	if got := c.name(netip.MustParseAddrPort("[2001:db8::1]:5060")); got != "[2001:db8::1]:5060" {
		t.Fatalf("IPv6 name %q", got)
	}
}

// TestFrontDeferredAnswer: a handler that defers its answer (a BYE's, sent
// when the call has ended) leaves its replay record pending when it
// returns — a retransmission meanwhile is absorbed, not handled twice —
// and the answer sent later, from another goroutine, is what a
// retransmission gets after it. A handler that neither answers nor defers
// leaves nothing. sipgo's transactions cannot defer.
func TestFrontDeferredAnswer(t *testing.T) {
	s, phone, _ := frontServer(t)
	f := s.udp
	req, from := phoneRequest(t, phone, inviteMsg(phone, "BYE", "z9hG4bK-bye1", "t1"))
	key := "BYE z9hG4bK-bye1 " + from.String()
	if _, st := f.replay.begin(key, nil); st != replayNew {
		t.Fatalf("replay state %v before the request, want new", st)
	}
	var later func()
	f.serve(func(r *sip.Request, tx sip.ServerTransaction) {
		w := &watchedTx{ServerTransaction: tx, s: s, req: r} // as guarded wraps it
		if !deferAnswer(w) {
			t.Error("the front's transaction cannot defer its answer")
		}
		later = func() { s.respond(r, w, 200, "OK") }
	}, req, &udpTx{f: f, key: key, to: from})
	if _, st := f.replay.begin(key, nil); st != replayPending {
		t.Fatalf("replay state %v after a deferring handler, want pending", st)
	}
	go later()
	_, answer := recvResponse(t, phone)
	if b, st := f.replay.begin(key, nil); st != replayAnswer || !bytes.Equal(b, answer) {
		t.Fatalf("replay state %v after the answer (bytes equal: %v), want the answer", st, bytes.Equal(b, answer))
	}

	key2 := "BYE z9hG4bK-bye2 " + from.String()
	f.replay.begin(key2, nil)
	f.serve(func(*sip.Request, sip.ServerTransaction) {}, req, &udpTx{f: f, key: key2, to: from})
	if _, st := f.replay.begin(key2, nil); st != replayNew {
		t.Fatalf("replay state %v after a handler that dropped the request, want new (abandoned)", st)
	}
	if deferAnswer(&countTx{}) {
		t.Fatal("a transaction of sipgo's cannot defer its answer")
	}
}
