package signaling

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestStaleNonce: with an expired nonce, only the right password earns
// stale=true (the phone retries silently); a wrong password and an unknown
// user get the same plain challenge, so stale=true reveals nothing but a
// password the sender already knows. The nonce clock is injected.
func TestStaleNonce(t *testing.T) {
	const realm, password = "contoso.com", "s3cret-Alice"
	now := time.Unix(1_800_000_000, 0)
	nonces := auth.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, func() time.Time { return now })
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", Credentials: []pbx.Credential{{
		Realm: realm, Username: "alice", Algorithm: pbx.AlgMD5, HA1: auth.HA1(pbx.AlgMD5, "alice", realm, password)}}}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{realm}}}, []pbx.User{alice})
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Directory: func() *directory.Directory { return dir }, Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	nonce := nonces.Issue()
	register := func(user, pw string) *sip.Response {
		t.Helper()
		req := digestRegister(t, user, realm, pw, nonce)
		tx := siptest.NewServerTxRecorder(req)
		s.handleRegister(req, tx)
		res := tx.Result()
		if len(res) == 0 {
			t.Fatalf("REGISTER %s: no response", user)
		}
		return res[len(res)-1]
	}
	stale := func(res *sip.Response) bool {
		hs := res.GetHeaders("WWW-Authenticate")
		if res.StatusCode != 401 || len(hs) != 2 {
			t.Fatalf("got %d with %d challenges, want 401 with 2", res.StatusCode, len(hs))
		}
		n := 0
		for _, h := range hs {
			if strings.Contains(h.Value(), "stale=true") {
				n++
			}
		}
		if n != 0 && n != len(hs) {
			t.Fatalf("stale=true on %d of %d challenges", n, len(hs))
		}
		return n > 0
	}

	now = now.Add(2 * time.Minute) // the nonce is now older than its TTL
	if !stale(register("alice", password)) {
		t.Error("right password, expired nonce: want stale=true")
	}
	wrong := register("alice", "wrong-password")
	unknown := register("mallory", "anything")
	if stale(wrong) || stale(unknown) {
		t.Error("wrong password or unknown user, expired nonce: want no stale=true")
	}
	if a, b := shape(wrong, "alice"), shape(unknown, "mallory"); a != b {
		t.Errorf("wrong password and unknown user answered differently:\n%s\n---\n%s", a, b)
	}
}

// shape is a response with the parts that must differ masked: nonces,
// the To tag, and the user name.
func shape(res *sip.Response, user string) string {
	var b strings.Builder
	b.WriteString(res.StartLine() + "\n")
	for _, h := range res.Headers() {
		v := h.Value()
		switch {
		case strings.HasSuffix(h.Name(), "Authenticate"):
			if i := strings.Index(v, `nonce="`); i >= 0 {
				j := strings.Index(v[i+7:], `"`)
				v = v[:i+7] + "NONCE" + v[i+7+j:]
			}
		case h.Name() == "To" || h.Name() == "From":
			v = "(user)"
		}
		b.WriteString(h.Name() + ": " + v + "\n")
	}
	return strings.ReplaceAll(b.String(), user, "USER")
}

// digestRegister is a REGISTER for user@realm with MD5 qop=auth
// credentials computed from password on nonce.
func digestRegister(t *testing.T, user, realm, password, nonce string) *sip.Request {
	t.Helper()
	md5hex := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	uri := "sip:" + realm
	ha1 := md5hex(user + ":" + realm + ":" + password)
	resp := md5hex(ha1 + ":" + nonce + ":00000001:c0ffee:auth:" + md5hex("REGISTER:"+uri))
	raw := "REGISTER " + uri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK-stale-" + user + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:" + user + "@" + realm + ">;tag=f1\r\n" +
		"To: <sip:" + user + "@" + realm + ">\r\n" +
		"Call-ID: stale-" + user + "\r\n" +
		"CSeq: 2 REGISTER\r\n" +
		"Contact: <sip:" + user + "@192.0.2.7:5060>\r\n" +
		`Authorization: Digest username="` + user + `", realm="` + realm + `", nonce="` + nonce + `", uri="` + uri +
		`", response="` + resp + `", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"` + "\r\n" +
		"Content-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}
