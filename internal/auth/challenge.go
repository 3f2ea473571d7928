package auth

import (
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Challenge is one digest challenge (one WWW-Authenticate or
// Proxy-Authenticate header value) without its nonce.
type Challenge struct {
	Realm     string
	Stale     bool
	Algorithm string // pbx.AlgSHA256 or pbx.AlgMD5
}

// Value formats the challenge with nonce as a header value:
//
//	Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"[, stale=true]
//
// The format is stable byte for byte. Quotes and backslashes in the realm are
// escaped and control characters dropped, so a realm cannot inject headers.
func (c Challenge) Value(nonce string) string {
	var b strings.Builder
	b.Grow(64 + len(c.Realm) + len(nonce))
	b.WriteString(`Digest realm=`)
	writeQuoted(&b, c.Realm)
	b.WriteString(`, nonce=`)
	writeQuoted(&b, nonce)
	b.WriteString(`, algorithm=`)
	b.WriteString(c.Algorithm)
	b.WriteString(`, qop="auth"`)
	if c.Stale {
		b.WriteString(`, stale=true`)
	}
	return b.String()
}

// DefaultAlgorithms returns the order challenges are offered in: MD5 first, then
// SHA-256. RFC 8760 §2.4 lets the server list its preference first, and
// clients should pick the first they support; many deployed clients (SIPp
// before 3.7.3, older desk phones) only read the first challenge and give up
// on SHA-256, so MD5 leads by default. WithAlgorithms changes the order.
func DefaultAlgorithms() []string { return []string{pbx.AlgMD5, pbx.AlgSHA256} }

// WithAlgorithms returns nonces that challenge with algs, in that order
// (pbx.AlgMD5, pbx.AlgSHA256).
func (n *Nonces) WithAlgorithms(algs ...string) *Nonces {
	c := *n
	c.algs = append([]string(nil), algs...)
	return &c
}

// Challenges returns the header values to send in a 401/407: one per
// algorithm, in preference order, all with the same fresh nonce.
// stale=true tells the client its credentials were right but the nonce had
// expired, so it retries without asking the user.
func (n *Nonces) Challenges(realm string, stale bool) []string {
	nonce := n.Issue()
	algs := n.algs
	if len(algs) == 0 {
		algs = DefaultAlgorithms()
	}
	out := make([]string, 0, len(algs))
	for _, alg := range algs {
		out = append(out, Challenge{Realm: realm, Stale: stale, Algorithm: alg}.Value(nonce))
	}
	return out
}

// writeQuoted writes s as an RFC 3261 quoted-string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			// dropped: CR, LF and other controls may not appear in a header
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
