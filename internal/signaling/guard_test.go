package signaling

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// guardReq builds a request from a start line and extra header lines, with the
// mandatory headers filled in unless overridden.
func guardReq(t *testing.T, start string, hdrs ...string) *sip.Request {
	t.Helper()
	method, _, _ := strings.Cut(start, " ")
	base := map[string]string{
		"Via":          "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-guard",
		"From":         "<sip:alice@contoso.com>;tag=a1",
		"To":           "<sip:bob@contoso.com>",
		"Call-ID":      "guard-1",
		"CSeq":         "1 " + method,
		"Max-Forwards": "70",
	}
	var lines []string
	for _, h := range hdrs {
		name, _, _ := strings.Cut(h, ":")
		if _, ok := base[name]; ok {
			delete(base, name)
		}
		lines = append(lines, h)
	}
	for _, name := range []string{"Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards"} {
		if v, ok := base[name]; ok {
			lines = append([]string{name + ": " + v}, lines...)
		}
	}
	body := ""
	for i, l := range lines {
		if strings.HasPrefix(l, "BODY:") {
			body = strings.TrimPrefix(l, "BODY:")
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	raw := start + "\r\n" + strings.Join(lines, "\r\n") + "\r\n"
	if !strings.Contains(raw, "Content-Length") {
		raw += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	raw += "\r\n" + body
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return m.(*sip.Request)
}

func TestCheckRequest(t *testing.T) {
	const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	for _, tc := range []struct {
		name  string
		start string
		hdrs  []string
		want  int // 0: passes
	}{
		{"plain INVITE", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Content-Type: application/sdp", "BODY:" + sdp}, 0},
		{"REGISTER", "REGISTER sip:contoso.com SIP/2.0", nil, 0},
		{"OPTIONS ping", "OPTIONS sip:192.0.2.9 SIP/2.0", nil, 0},
		{"version", "OPTIONS sip:bob@contoso.com SIP/3.0", nil, 505},
		{"unknown header", "OPTIONS sip:bob@contoso.com SIP/2.0", []string{"X: y"}, 0},
		{"cseq mismatch", "OPTIONS sip:bob@contoso.com SIP/2.0", []string{"CSeq: 1 INVITE"}, 400},
		{"two Call-IDs", "OPTIONS sip:bob@contoso.com SIP/2.0", []string{"Call-ID: a", "Call-ID: b"}, 400},
		{"two compact From", "OPTIONS sip:bob@contoso.com SIP/2.0", []string{"f: <sip:a@b>;tag=1", "From: <sip:c@d>;tag=2"}, 400},
		{"tel", "INVITE tel:+14255550102 SIP/2.0", nil, 0},
		{"unknown scheme", "OPTIONS xyz:opaque SIP/2.0", nil, 416},
		{"mf 0 to a user", "OPTIONS sip:bob@contoso.com SIP/2.0", []string{"Max-Forwards: 0"}, 483},
		{"mf 0 INVITE", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Max-Forwards: 0"}, 483},
		{"mf 0 ping to the server", "OPTIONS sip:192.0.2.9 SIP/2.0", []string{"Max-Forwards: 0"}, 0},
		{"mf 0 REGISTER", "REGISTER sip:contoso.com SIP/2.0", []string{"Max-Forwards: 0"}, 0},
		{"mf 0 in dialog", "BYE sip:bob@192.0.2.9 SIP/2.0", []string{"Max-Forwards: 0", "To: <sip:bob@contoso.com>;tag=b1"}, 0},
		{"require", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Require: 100rel"}, 420},
		{"require timer (RFC 4028)", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Require: timer"}, 0},
		{"require timer and more", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Require: timer, 100rel"}, 420},
		{"require on CANCEL ignored", "CANCEL sip:bob@contoso.com SIP/2.0", []string{"Require: 100rel"}, 0},
		{"ACK always passes", "ACK sip:bob@contoso.com SIP/7.0", []string{"Require: x"}, 0},
		{"not sdp", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Content-Type: text/plain", "BODY:hello"}, 415},
		{"sdp with params", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Content-Type: Application/SDP;charset=x", "BODY:" + sdp}, 0},
		{"accept without sdp", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Accept: text/plain"}, 406},
		{"accept with sdp", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Accept: text/plain, application/sdp;level=1"}, 0},
		{"accept wildcard", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Accept: */*"}, 0},
		{"empty accept", "INVITE sip:bob@contoso.com SIP/2.0", []string{"Accept: "}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rej := checkRequest(guardReq(t, tc.start, tc.hdrs...))
			got := 0
			if rej != nil {
				got = rej.code
			}
			if got != tc.want {
				t.Errorf("checkRequest = %d (%+v), want %d", got, rej, tc.want)
			}
		})
	}
}

func TestCheckRequestMissingHeaders(t *testing.T) {
	m, err := sip.ParseMessage([]byte("INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n" +
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rej := checkRequest(m.(*sip.Request)); rej == nil || rej.code != 400 {
		t.Fatalf("checkRequest without From/To/Call-ID = %+v, want 400", rej)
	}
}

func TestReject420ListsOptionTags(t *testing.T) {
	rej := checkRequest(guardReq(t, "OPTIONS sip:bob@contoso.com SIP/2.0", "Require: foo, bar", "Require: baz"))
	if rej == nil || rej.code != 420 {
		t.Fatalf("got %+v, want 420", rej)
	}
	if len(rej.hdrs) != 1 || rej.hdrs[0].Name() != "Unsupported" || rej.hdrs[0].Value() != "foo, bar, baz" {
		t.Errorf("headers %v, want Unsupported: foo, bar, baz", rej.hdrs)
	}
}

// TestCheckRequestRFC4475 runs the guard over the RFC 4475 messages sipgo
// parses (the shared corpus, when present) and checks the answers the
// guard itself is responsible for.
func TestCheckRequestRFC4475(t *testing.T) {
	dir := sharedCorpus(t, "rfc4475")
	want := map[string]int{
		"badvers": 505, "unkscm": 416, "bext01": 420, "zeromf": 483, "insuf": 400, "multi01": 400,
		"mcl01": 400, "mismatch01": 400, "mismatch02": 400, "invut": 415, "sdp01": 406,
		// valid messages pass the guard
		"esc01": 0, "escnull": 0, "lwsdisp": 0, "longreq": 0, "dblreq": 0, "semiuri": 0, "transports": 0,
		"mpart01": 0, "intmeth": 0, "esc02": 0, "cparam01": 0, "cparam02": 0, "regescrt": 0, "badbranch": 0,
		"regaut01": 0, "inv2543": 0,
	}
	for name, code := range want {
		b, err := os.ReadFile(filepath.Join(dir, name+".dat"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := sip.ParseMessage(b)
		if err != nil {
			t.Errorf("%s: sipgo does not parse it: %v", name, err)
			continue
		}
		got := 0
		if rej := checkRequest(m.(*sip.Request)); rej != nil {
			got = rej.code
		}
		if got != code {
			t.Errorf("%s: checkRequest = %d, want %d", name, got, code)
		}
	}
}

func FuzzCheckRequest(f *testing.F) {
	f.Add([]byte("OPTIONS sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nRequire: a,b\r\nMax-Forwards: 0\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nAccept: ;;,\r\nContent-Type: ;\r\nContent-Length: 1\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := sip.ParseMessage(b)
		if err != nil {
			return
		}
		if req, ok := m.(*sip.Request); ok {
			_ = checkRequest(req) // must not panic
		}
	})
}

// fakeClock is a settable clock for the guard.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time           { return c.t }
func (c *fakeClock) add(d time.Duration)      { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock                { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }
func ip(s string) netip.Addr                  { return netip.MustParseAddr(s) }
func udpFrom(s string) sip.TransportReadProps { return props("udp", s) }

func props(tp, s string) sip.TransportReadProps {
	ap := netip.MustParseAddrPort(s)
	var ra net.Addr = net.UDPAddrFromAddrPort(ap)
	if tp == "tcp" {
		ra = net.TCPAddrFromAddrPort(ap)
	}
	return sip.TransportReadProps{Transport: tp, RemoteAddr: ra}
}

func TestGuardBruteForce(t *testing.T) {
	clock := newFakeClock()
	var logs bytes.Buffer
	g := newGuard(GuardConfig{}, slog.New(slog.NewTextHandler(&logs, nil)), clock.now)
	attacker, other := ip("192.0.2.66"), ip("198.51.100.7")

	for i := 0; i < 4; i++ {
		g.authFailed(attacker, "alice@contoso.com")
		clock.add(10 * time.Second)
	}
	g.authFailed(attacker, "bob@contoso.com") // another user: its own count
	if g.banned(attacker) {
		t.Fatal("banned after 4 failures for alice and 1 for bob")
	}
	g.authFailed(attacker, "alice@contoso.com") // 5th within 60 s
	if !g.banned(attacker) {
		t.Fatal("not banned after 5 failures within 60 s")
	}
	if g.banned(other) {
		t.Fatal("another source banned too")
	}
	if got, err := g.readFilter(udpFrom("192.0.2.66:5060"), []byte("REGISTER")); got != nil || err != nil {
		t.Errorf("UDP from a banned source: %q, %v; want dropped without error (an error stops sipgo's listener)", got, err)
	}
	if _, err := g.readFilter(props("tcp", "192.0.2.66:40000"), []byte("REGISTER")); !errors.Is(err, errBanned) {
		t.Errorf("TCP from a banned source: err %v, want errBanned (closes the connection)", err)
	}
	if got, _ := g.readFilter(udpFrom("198.51.100.7:5060"), []byte("REGISTER")); string(got) != "REGISTER" {
		t.Errorf("UDP from another source: %q, want passed", got)
	}
	line := logs.String()
	for _, want := range []string{`level=WARN`, `msg="security event"`, `event=ban`, `source=192.0.2.66`,
		`user=alice@contoso.com`, `reason="brute-force: 5 failed challenges in 1m0s"`, `ban_seconds=300`} {
		if !strings.Contains(line, want) {
			t.Errorf("ban log line %q lacks %s", line, want)
		}
	}
	clock.add(5*time.Minute - time.Second)
	if !g.banned(attacker) {
		t.Fatal("ban lifted before 300 s")
	}
	clock.add(time.Second)
	if g.banned(attacker) {
		t.Fatal("ban not lifted after 300 s")
	}
}

func TestGuardFailuresSlide(t *testing.T) {
	clock := newFakeClock()
	g := newGuard(GuardConfig{}, nil, clock.now)
	a := ip("192.0.2.1")
	for i := 0; i < 10; i++ { // one every 16 s: never 5 within 60 s
		g.authFailed(a, "alice@contoso.com")
		clock.add(16 * time.Second)
	}
	if g.banned(a) {
		t.Fatal("banned for failures spread over more than the window")
	}
}

func TestGuardConfigurable(t *testing.T) {
	clock := newFakeClock()
	g := newGuard(GuardConfig{AuthFailures: 2, AuthWindow: time.Second, AuthBan: time.Minute,
		Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, nil, clock.now)
	g.authFailed(ip("10.1.2.3"), "u")
	g.authFailed(ip("10.1.2.3"), "u")
	if g.banned(ip("10.1.2.3")) {
		t.Error("an allowed source was banned")
	}
	g.authFailed(ip("192.0.2.1"), "u")
	g.authFailed(ip("192.0.2.1"), "u")
	if !g.banned(ip("192.0.2.1")) {
		t.Error("not banned after AuthFailures=2")
	}
	clock.add(time.Minute)
	if g.banned(ip("192.0.2.1")) {
		t.Error("AuthBan of 1m not honoured")
	}

	off := newGuard(GuardConfig{AuthFailures: -1}, nil, clock.now)
	for i := 0; i < 20; i++ {
		off.authFailed(ip("192.0.2.1"), "u")
	}
	if off.banned(ip("192.0.2.1")) {
		t.Error("banned with brute-force protection off")
	}
}

func TestGuardFlood(t *testing.T) {
	clock := newFakeClock()
	g := newGuard(GuardConfig{FloodPackets: 3, FloodWindow: 2 * time.Second, FloodBan: time.Minute,
		Allow: []netip.Prefix{netip.MustParsePrefix("203.0.113.10/32")}}, nil, clock.now)
	pass := func(src string) bool {
		got, err := g.readFilter(udpFrom(src), []byte("x"))
		if err != nil {
			t.Fatalf("UDP read filter returned an error: %v", err)
		}
		return got != nil
	}
	for i := 0; i < 3; i++ {
		if !pass("192.0.2.9:5060") {
			t.Fatalf("message %d dropped under the limit", i+1)
		}
	}
	clock.add(2 * time.Second) // a new window
	for i := 0; i < 3; i++ {
		if !pass("192.0.2.9:5061") {
			t.Fatalf("message %d of the second window dropped", i+1)
		}
	}
	if pass("192.0.2.9:5062") {
		t.Fatal("4th message within 2 s passed")
	}
	clock.add(30 * time.Second)
	if pass("192.0.2.9:5060") {
		t.Fatal("passed during the ban")
	}
	clock.add(30 * time.Second)
	if !pass("192.0.2.9:5060") {
		t.Fatal("still dropped after the ban")
	}
	for i := 0; i < 100; i++ {
		if !pass("203.0.113.10:5060") {
			t.Fatal("an allowed SBC was limited")
		}
	}
	g.gateway = func(a netip.Addr) bool { return a == ip("198.51.100.1") }
	for i := 0; i < 100; i++ {
		if !pass("198.51.100.1:5060") {
			t.Fatal("a configured gateway was limited")
		}
	}
	if off := newGuard(GuardConfig{}, nil, clock.now); off.flooding(ip("192.0.2.9")) {
		t.Fatal("flood limit on by default")
	}
}

func TestGuardTablesBounded(t *testing.T) {
	clock := newFakeClock()
	g := newGuard(GuardConfig{FloodPackets: 1000}, nil, clock.now)
	base := ip("10.0.0.0").As4()
	for i := 0; i < guardTableMax+1000; i++ {
		a := base
		a[1], a[2], a[3] = byte(i>>16), byte(i>>8), byte(i)
		g.flooding(netip.AddrFrom4(a))
		g.authFailed(netip.AddrFrom4(a), "u")
	}
	if len(g.flood) > guardTableMax || len(g.failures) > guardTableMax {
		t.Fatalf("tables grew to %d and %d entries, bound %d", len(g.flood), len(g.failures), guardTableMax)
	}
	clock.add(2 * time.Minute)
	g.flooding(ip("192.0.2.1")) // triggers a sweep
	if len(g.failures) != 0 || len(g.flood) != 1 {
		t.Fatalf("after the windows passed: %d failures, %d flood entries; want 0 and 1", len(g.failures), len(g.flood))
	}
}

func TestFailedChallenge(t *testing.T) {
	withCreds := guardReq(t, "REGISTER sip:contoso.com SIP/2.0", `Authorization: Digest username="alice", realm="contoso.com", nonce="n", uri="sip:contoso.com", response="r"`)
	without := guardReq(t, "REGISTER sip:contoso.com SIP/2.0")
	res := func(req *sip.Request, code int, chal string) *sip.Response {
		r := sip.NewResponseFromRequest(req, code, "x", nil)
		if chal != "" {
			r.AppendHeader(sip.NewHeader("WWW-Authenticate", chal))
		}
		return r
	}
	for _, tc := range []struct {
		name string
		req  *sip.Request
		res  *sip.Response
		want bool
	}{
		{"wrong credentials", withCreds, res(withCreds, 401, `Digest realm="contoso.com", nonce="m"`), true},
		{"stale nonce", withCreds, res(withCreds, 401, `Digest realm="contoso.com", nonce="m", stale=true`), false},
		{"first challenge", without, res(without, 401, `Digest realm="contoso.com", nonce="m"`), false},
		{"accepted", withCreds, res(withCreds, 200, ""), false},
	} {
		if got := failedChallenge(tc.req, tc.res.StatusCode, staleChallenge(tc.res)); got != tc.want {
			t.Errorf("%s: failedChallenge = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestBruteForceThroughHandler: five REGISTERs with a wrong password from
// one address through the guarded handler; the sixth, even with the right
// password, is not answered at all. Both ways an answer is sent: as a
// sipgo response, and written as bytes (the UDP front's, answer.go).
func TestBruteForceThroughHandler(t *testing.T) {
	t.Run("sipgo", func(t *testing.T) { testBruteForce(t, false) })
	t.Run("wire", func(t *testing.T) { testBruteForce(t, true) })
}

func testBruteForce(t *testing.T, wire bool) {
	const realm, password = "contoso.com", "s3cret-Alice"
	nonces := auth.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, nil)
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", Credentials: []pbx.Credential{{
		Realm: realm, Username: "alice", Algorithm: pbx.AlgMD5, HA1: auth.HA1(pbx.AlgMD5, "alice", realm, password)}}}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{realm}}}, []pbx.User{alice})
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Directory: func() *directory.Directory { return dir }, Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h := s.guarded(s.handleRegister)
	for i := 1; i <= 6; i++ {
		pw := "guess-" + strconv.Itoa(i)
		if i == 6 {
			pw = password
		}
		req := digestRegister(t, "alice", realm, pw, nonces.Issue())
		var tx interface {
			sip.ServerTransaction
			Result() []*sip.Response
		} = siptest.NewServerTxRecorder(req)
		if wire {
			tx = new(wireRecorder)
		}
		h(req, tx)
		res := tx.Result()
		switch {
		case i <= 5 && (len(res) == 0 || res[len(res)-1].StatusCode != 401):
			t.Fatalf("attempt %d: %v, want 401", i, res)
		case i == 6 && len(res) != 0:
			t.Fatalf("attempt %d from a banned source answered %d, want silence", i, res[len(res)-1].StatusCode)
		}
	}
}
