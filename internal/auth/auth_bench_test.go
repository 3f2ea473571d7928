package auth

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// The per-REGISTER work of this package on Switchboard's hot path: one
// challenge (first REGISTER), then parse, nonce check and verify (second).

func benchMD5(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// benchAuthorization is the Authorization header SIPp sends for a qop=auth
// MD5 challenge with nonce.
func benchAuthorization(nonce string) string {
	const user, realm, pass, uri = "u00001", "bench1.example.com", "pw-00001-bench", "sip:bench1.example.com"
	ha1 := benchMD5(user + ":" + realm + ":" + pass)
	ha2 := benchMD5("REGISTER:" + uri)
	resp := benchMD5(ha1 + ":" + nonce + ":00000001:6b8b4567:auth:" + ha2)
	return fmt.Sprintf(`Digest username="%s",realm="%s",cnonce="6b8b4567",nc=00000001,qop=auth,uri="%s",nonce="%s",response="%s",algorithm=MD5`,
		user, realm, uri, nonce, resp)
}

func benchNonces() *Nonces {
	return NewNonces([]byte("0123456789abcdef0123456789abcdef"), 5*time.Minute, time.Now)
}

func BenchmarkParseCredentials(b *testing.B) {
	h := benchAuthorization(benchNonces().Issue())
	b.ReportAllocs()
	var c Credentials
	for b.Loop() {
		if err := ParseCredentialsInto(&c, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChallenges is the 401 of every first REGISTER: a fresh signed
// nonce and one header value per algorithm (MD5, SHA-256).
func BenchmarkChallenges(b *testing.B) {
	n := benchNonces()
	b.ReportAllocs()
	for b.Loop() {
		if len(n.Challenges("bench1.example.com", false)) != 2 {
			b.Fatal("want 2 challenges")
		}
	}
}

// BenchmarkAuthenticateRegister is the whole check of a REGISTER with
// credentials: parse the header, check the nonce, verify the response.
func BenchmarkAuthenticateRegister(b *testing.B) {
	n := benchNonces()
	h := benchAuthorization(n.Issue())
	ha1 := HA1(pbx.AlgMD5, "u00001", "bench1.example.com", "pw-00001-bench")
	b.ReportAllocs()
	var c Credentials
	for b.Loop() {
		if err := ParseCredentialsInto(&c, h); err != nil {
			b.Fatal(err)
		}
		if n.Check(c.Nonce) != NonceValid || !Verify(&c, "REGISTER", ha1) {
			b.Fatal("rejected")
		}
	}
}
