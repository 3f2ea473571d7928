package signaling

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
	"github.com/switchboard-pbx/switchboard/internal/store"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
)

// benchTx is a server transaction that keeps the last response's status,
// taking it written as bytes as the UDP front's transactions do (wireTx).
type benchTx struct {
	code int
	done chan struct{}
}

func (t *benchTx) respondWire(code int, _ bool, _ []byte) error { t.code = code; return nil }
func (t *benchTx) wireTag() string                              { return "" }

func (t *benchTx) Terminate()                         {}
func (t *benchTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (t *benchTx) Done() <-chan struct{}              { return t.done }
func (t *benchTx) Err() error                         { return nil }
func (t *benchTx) Respond(res *sip.Response) error    { t.code = res.StatusCode; return nil }
func (t *benchTx) Acks() <-chan *sip.Request          { return nil }
func (t *benchTx) OnCancel(sip.FnTxCancel) bool       { return true }

var _ sip.ServerTransaction = (*benchTx)(nil)

type nopBindings struct{}

func (nopBindings) SaveBinding(context.Context, pbx.Binding) error      { return nil }
func (nopBindings) DeleteBinding(context.Context, string, string) error { return nil }
func (nopBindings) Bindings(context.Context) ([]pbx.Binding, error)     { return nil, nil }

func benchHex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

const benchRealm = "bench1.example.com"

// benchSecret is benchDirectory's nonce secret.
const benchSecret = "0123456789abcdef0123456789abcdef"

func benchRegisterMsg(user string, cseq int, authz string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", benchRealm)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-1234-%s-%d\r\n", user, cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=1234SIPpTag00%s\r\n", user, benchRealm, user)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", user, benchRealm)
	fmt.Fprintf(&b, "Call-ID: %s-1234@127.0.0.1\r\n", user)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@127.0.0.1:5072;transport=UDP>\r\n", user)
	if authz != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authz)
	}
	b.WriteString("Max-Forwards: 70\r\nExpires: 3600\r\nUser-Agent: SIPp switchboard-bench\r\nContent-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// benchDirectory has users u00001... with passwords pw-u00001...
func benchDirectory(users int) (*directory.Directory, *auth.Nonces) {
	var us []pbx.User
	for i := 1; i <= users; i++ {
		name := fmt.Sprintf("u%05d", i)
		us = append(us, pbx.User{Tenant: "bench1", SIPAddress: name + "@" + benchRealm,
			Credentials: []pbx.Credential{{Realm: benchRealm, Username: name, Algorithm: pbx.AlgMD5,
				HA1: auth.HA1(pbx.AlgMD5, name, benchRealm, "pw-"+name)}}})
	}
	dir := directory.Build([]pbx.Tenant{{Name: "bench1", Domains: []string{benchRealm}}}, us)
	return dir, auth.NewNonces([]byte(benchSecret), 5*time.Minute, time.Now)
}

// benchRegisters returns each user's first REGISTER and its REGISTER with
// credentials for nonce. Nonces are stateless and valid for 5 minutes: one
// serves every credentialed REGISTER, so the loop does no client-side hashing.
func benchRegisters(users int, nonce string) (first, second [][]byte) {
	first, second = make([][]byte, users), make([][]byte, users)
	for i := range users {
		name := fmt.Sprintf("u%05d", i+1)
		ha1 := benchHex(name + ":" + benchRealm + ":pw-" + name)
		resp := benchHex(ha1 + ":" + nonce + ":00000001:6b8b4567:auth:" + benchHex("REGISTER:sip:"+benchRealm))
		authz := fmt.Sprintf(`Digest username="%s",realm="%s",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:%s",nonce="%s",response="%s",algorithm=MD5`,
			name, benchRealm, benchRealm, nonce, resp)
		first[i] = benchRegisterMsg(name, 1, "")
		second[i] = benchRegisterMsg(name, 2, authz)
	}
	return first, second
}

// BenchmarkHandleRegister is Switchboard's whole REGISTER path above the
// transaction layer, as SIPp drives it in bench/run.sh: parse REGISTER →
// 401 with a fresh nonce; parse REGISTER with credentials → directory,
// digest, registrar, store → 200 with the bindings. One op is one
// registration (both requests). The sockets, sipgo's transaction layer and
// its goroutines are not included.
//
// store=none is a store that keeps nothing (the registrar's memory only);
// store=sqlite writes every binding through to SQLite (before the
// write-behind); store=sqlite-writebehind is what the server runs: the
// registrar over store.BindingWriter over SQLite (the batches' commits run
// on the writer's goroutine, their CPU is in the figure, not their wait).
func BenchmarkHandleRegister(b *testing.B) {
	b.Run("store=none", func(b *testing.B) { benchHandleRegister(b, nopBindings{}) })
	b.Run("store=sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		benchHandleRegister(b, db)
	})
	b.Run("store=sqlite-writebehind", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		w := store.NewBindingWriter(db, store.DefaultFlushInterval, nil)
		b.Cleanup(func() { _ = w.Close(context.Background()); _ = db.Close() })
		benchHandleRegister(b, w)
	})
}

func benchHandleRegister(b *testing.B, st registrar.Store) {
	const users = 1000
	dir, nonces := benchDirectory(users)
	s, err := New(Config{Listen: "127.0.0.1:5060"}, Deps{Directory: func() *directory.Directory { return dir },
		Registrar: registrar.New(st, registrar.Config{}, nil, nil), Nonces: nonces})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.ua.Close() })

	first, second := benchRegisters(users, nonces.Issue())
	parse := func(raw []byte) *sip.Request {
		m, err := sip.ParseMessage(raw)
		if err != nil {
			b.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource("127.0.0.1:5072")
		req.SetTransport("UDP") // as the UDP front does (else every Transport() looks for a Route)
		return req
	}
	// A new Call-ID per registration, as SIPp sends (the same Call-ID with
	// the same CSeq would be refused as out of order).
	callIDs := make([]sip.CallIDHeader, 1<<16)
	for i := range callIDs {
		callIDs[i] = sip.CallIDHeader(fmt.Sprintf("%d-1234@127.0.0.1", i))
	}
	tx := &benchTx{done: make(chan struct{})}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		k := i % users
		s.handleRegister(parse(first[k]), tx)
		if tx.code != 401 {
			b.Fatalf("first REGISTER: %d", tx.code)
		}
		tx.code = 0
		req := parse(second[k])
		*req.CallID() = callIDs[i%len(callIDs)]
		s.handleRegister(req, tx)
		if tx.code != 200 {
			b.Fatalf("second REGISTER: %d", tx.code)
		}
		tx.code = 0
		i++
	}
}

// BenchmarkParseRegister is sipgo's parse of a registration's two
// REGISTERs: the first (answered with a challenge) and the one with
// credentials. Their sum is the parser's share of a registration, which
// no change of ours moves (docs/performance.md, "Not done yet").
func BenchmarkParseRegister(b *testing.B) {
	for _, c := range []struct{ name, authz string }{
		{"first", ""},
		{"credentials", `Digest username="u00001",realm="bench1.example.com",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:bench1.example.com",nonce="bm9uY2U",response="0123456789abcdef0123456789abcdef",algorithm=MD5`},
	} {
		b.Run(c.name, func(b *testing.B) {
			raw := benchRegisterMsg("u00001", 2, c.authz)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := sip.ParseMessage(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFrontRegister is one registration (REGISTER → 401, REGISTER
// with credentials → 200) through the UDP front as the wire sees it, minus
// the receive system call: sipgo's parse, the guard, digest, registrar (no
// store), the response built, serialised, remembered for retransmissions
// and sent (sendto to a loopback socket nobody reads).
func BenchmarkFrontRegister(b *testing.B) {
	const users = 1000
	dir, nonces := benchDirectory(users)
	s, sink := startWithPhone(b, dir, nonces) // the phone's socket is a sink nobody reads
	from := sink.LocalAddr().(*net.UDPAddr).AddrPort()

	first, second := benchRegisters(users, nonces.Issue())
	rd := newFrontReader()
	var buf []byte
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		k := i % users
		// A fresh branch and Call-ID per registration, as SIPp sends (4 of
		// the allocations per op are these copies).
		tag := fmt.Appendf(nil, "-%d", i)
		buf = bytes.Replace(first[k], []byte("-1234-"), append([]byte("-1234-x"), tag...), -1)
		if !s.udp.handle(rd, buf, from) {
			b.Fatal("first REGISTER passed on")
		}
		buf = bytes.Replace(second[k], []byte("-1234-"), append([]byte("-1234-y"), tag...), -1)
		buf = bytes.Replace(buf, []byte("-1234@"), append([]byte("-1234@y"), tag...), 1)
		if !s.udp.handle(rd, buf, from) {
			b.Fatal("second REGISTER passed on")
		}
		i++
	}
	b.StopTimer()
	// The answers were remembered: all of them in a short run; in a long
	// one (-benchtime 3s: ≈ 100,000 registrations) the cache's budget and
	// its rotation have dropped the oldest (replayBudget, replayKeep).
	if n := s.udp.replay.len(); n == 0 || n > 2*i || (i < 20_000 && n != 2*i) {
		b.Fatalf("replay cache holds %d answers for %d registrations", n, i)
	}
}
