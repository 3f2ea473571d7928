package signaling

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// sipRecorder is a server transaction that records the responses it is
// given (sipgo's siptest recorder wants a From-tag in every request).
type sipRecorder struct{ res []*sip.Response }

func (r *sipRecorder) Respond(res *sip.Response) error    { r.res = append(r.res, res); return nil }
func (r *sipRecorder) Result() []*sip.Response            { return r.res }
func (r *sipRecorder) Terminate()                         {}
func (r *sipRecorder) OnTerminate(sip.FnTxTerminate) bool { return false }
func (r *sipRecorder) Done() <-chan struct{}              { return nil }
func (r *sipRecorder) Err() error                         { return nil }
func (r *sipRecorder) Acks() <-chan *sip.Request          { return nil }
func (r *sipRecorder) OnCancel(sip.FnTxCancel) bool       { return false }

// wireRecorder is a sipRecorder that also takes answers written as bytes
// (wireTx), as the UDP front's transactions do: it parses them back and
// records them like any response, with the bytes and the stale flag.
type wireRecorder struct {
	sipRecorder
	raw   [][]byte
	stale []bool
	err   error // the last respondWire's
}

func (r *wireRecorder) wireTag() string { return "" }

func (r *wireRecorder) respondWire(code int, stale bool, b []byte) error {
	r.err = r.record(code, stale, b)
	return r.err
}

func (r *wireRecorder) record(code int, stale bool, b []byte) error {
	r.raw = append(r.raw, append([]byte(nil), b...))
	r.stale = append(r.stale, stale)
	m, err := sip.ParseMessage(b)
	if err != nil {
		return fmt.Errorf("answer written as bytes does not parse: %w\n%q", err, b)
	}
	res, ok := m.(*sip.Response)
	if !ok || res.StatusCode != code {
		return fmt.Errorf("answer written as bytes is not a %d: %q", code, b)
	}
	return r.sipRecorder.Respond(res)
}

// requestCorpus is every request of builtMessages and of the shared
// corpora that sipgo parses, by name.
func requestCorpus(t *testing.T) map[string]*sip.Request {
	out := map[string]*sip.Request{}
	for name, m := range builtMessages() {
		if r, ok := m.(*sip.Request); ok {
			out[name] = r
		}
	}
	add := func(name string, raw []byte) {
		if m, err := sip.ParseMessage(raw); err == nil {
			if r, ok := m.(*sip.Request); ok {
				out[name] = r
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(sharedCorpus(t, "rfc4475"), "*.dat"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add(filepath.Base(f), raw)
	}
	files, _ = filepath.Glob(filepath.Join(sharedCorpus(t, "protos-c07-sip"), "*"))
	fill := testkit.ProtosFill{To: "bob@example.com", From: "alice@example.com", Addr: "127.0.0.1", Port: 5070,
		CallID: "protos", Branch: "1", Teardown: "BYE"}
	for _, f := range files {
		c, err := testkit.ReadProtosCase(f)
		if err != nil {
			t.Fatal(err)
		}
		add("protos "+c.Name, fill.Apply(c.Invite))
	}
	return out
}

// writeResponseHead writes, byte for byte, what responseTagged builds and
// writeMessage writes, for every request of the corpora and the statuses
// that copy different headers (100: Timestamp, no To-tag; 180: the
// Record-Route of an INVITE).
func TestResponseHeadMatchesResponseTagged(t *testing.T) {
	reqs := requestCorpus(t)
	compared := 0
	for name, req := range reqs {
		req.SetSource("192.0.2.7:5099") // rport and received
		for _, code := range []int{100, 180, 200, 401, 487} {
			var b bytes.Buffer
			writeResponseHead(&b, req, code, "Reason Phrase", "t9")
			b.WriteString("\r\n")
			want := ourBytes(responseTagged(req, code, "Reason Phrase", "t9"))
			if got := b.String(); got != want {
				t.Errorf("%s, %d:\nhead  %q\nsipgo %q", name, code, got, want)
			}
			compared++
		}
	}
	if len(reqs) < 50 {
		t.Errorf("only %d requests in the corpus", len(reqs))
	}
	t.Logf("%d requests, %d responses compared", len(reqs), compared)
}

// Every call of an answer says the same written as bytes and built as a
// sipgo response.
func TestAnswerWireMatchesSipgo(t *testing.T) {
	s := testServer(t)
	for name, req := range requestCorpus(t) {
		req.SetSource("192.0.2.7:5099")
		if req.To() == nil {
			continue // responseTo's tag would differ: nothing to compare it on
		}
		build := func(tx sip.ServerTransaction) {
			a := s.answer(req, tx, 401, "Unauthorized")
			a.header("WWW-Authenticate", `Digest realm="x", nonce="n"`)
			a.begin("Contact")
			a.value().WriteString("<sip:a@192.0.2.1>;expires=")
			writeInt(a.value(), 3600)
			a.end()
			a.sipHeader(s.fixed.allow)
			a.send()
		}
		plain := new(sipRecorder)
		build(plain)
		wire := new(wireRecorder)
		build(wire)
		if len(plain.Result()) != 1 || len(wire.raw) != 1 { // the bytes need not parse (the corpus' CSeqs)
			t.Fatalf("%s: %d sipgo and %d wire answers, want one each (%v)", name, len(plain.Result()), len(wire.raw), wire.err)
		}
		got, want := sameTag(string(wire.raw[0])), sameTag(ourBytes(plain.Result()[0]))
		if got != want {
			t.Errorf("%s:\nwire  %q\nsipgo %q", name, got, want)
		}
		if got, want := string(s.trying(req)), ourBytes(s.response(req, 100, "Trying")); got != want {
			t.Errorf("%s, 100 Trying:\nwire  %q\nsipgo %q", name, got, want)
		}
	}
}

var (
	toTagRE = regexp.MustCompile(`(?m)^(To: .*;tag=)[^;\r\n]*`)
	nonceRE = regexp.MustCompile(`nonce="[^"]*"`)
	dateRE  = regexp.MustCompile(`(?m)^Date: .*$`)
)

// sameTag blanks what two answers to one request draw afresh: the To-tag,
// the nonce, the date.
func sameTag(s string) string {
	s = toTagRE.ReplaceAllString(s, "${1}T")
	s = nonceRE.ReplaceAllString(s, `nonce="N"`)
	return dateRE.ReplaceAllString(s, "Date: D")
}

// A registration's 401 and 200, and a stale challenge's, are the same
// written as bytes and as sipgo responses; the stale flag reaches the
// transaction (the guard's failed challenges count on it).
func TestRegisterAnswersWireMatchSipgo(t *testing.T) {
	dir, nonces := benchDirectory(1)
	s, err := New(Config{Listen: "127.0.0.1:5060"}, Deps{Directory: func() *directory.Directory { return dir },
		Registrar: registrar.New(nopBindings{}, registrar.Config{}, nil, nil), Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.ua.Close() })
	first, second := benchRegisters(1, nonces.Issue())
	// A nonce of the same secret issued an hour ago: signed, but stale.
	old := auth.NewNonces([]byte(benchSecret), 5*time.Minute, func() time.Time { return time.Now().Add(-time.Hour) })
	_, withStale := benchRegisters(1, old.Issue())
	parse := func(raw []byte, callID string) *sip.Request {
		m, err := sip.ParseMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource("127.0.0.1:5072")
		req.SetTransport("UDP")
		*req.CallID() = sip.CallIDHeader(callID)
		return req
	}
	for _, c := range []struct {
		name  string
		raw   []byte
		code  int
		stale bool
	}{{"first", first[0], 401, false}, {"credentials", second[0], 200, false}, {"stale nonce", withStale[0], 401, true}} {
		preq := parse(c.raw, c.name+"-plain")
		plain := new(sipRecorder)
		s.handleRegister(preq, plain)
		req := parse(c.raw, c.name+"-wire")
		wire := new(wireRecorder)
		s.handleRegister(req, wire)
		if len(plain.Result()) != 1 || len(wire.Result()) != 1 || plain.Result()[0].StatusCode != c.code {
			t.Fatalf("%s: sipgo %v, wire %q (%v); want one %d each", c.name, plain.Result(), wire.raw, wire.err, c.code)
		}
		if wire.stale[0] != c.stale {
			t.Errorf("%s: stale %v reached the transaction, want %v", c.name, wire.stale[0], c.stale)
		}
		want := sameTag(ourBytes(plain.Result()[0]))
		want = regexp.MustCompile(c.name+`-plain`).ReplaceAllString(want, c.name+"-wire")
		if got := sameTag(string(wire.raw[0])); got != want {
			t.Errorf("%s:\nwire  %q\nsipgo %q", c.name, got, want)
		}
	}
}

// uriString, which a binding's contact is made with, is sipgo's String of
// every URI of the corpora's From, To and Contact headers.
func TestURIStringMatchesSipgo(t *testing.T) {
	n := 0
	for name, req := range requestCorpus(t) {
		for _, h := range req.Headers() {
			var u *sip.Uri
			switch h := h.(type) {
			case *sip.FromHeader:
				u = &h.Address
			case *sip.ToHeader:
				u = &h.Address
			case *sip.ContactHeader:
				u = &h.Address
			default:
				continue
			}
			if got, want := uriString(u), u.String(); got != want {
				t.Errorf("%s: %q, sipgo %q", name, got, want)
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d URIs compared", n)
	}
}
