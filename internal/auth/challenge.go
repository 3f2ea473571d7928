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
	c.Write(&b, nonce)
	return b.String()
}

// Writer is where Challenge.Write writes: a strings.Builder, a
// bytes.Buffer.
type Writer interface {
	WriteString(s string) (int, error)
	WriteByte(c byte) error
}

// Write writes the challenge with nonce as Value formats it, into w: the
// SIP layer writes a response straight into its send buffer.
func (c Challenge) Write(w Writer, nonce string) {
	_, _ = w.WriteString(`Digest realm=`)
	writeQuoted(w, c.Realm)
	_, _ = w.WriteString(`, nonce=`)
	writeQuoted(w, nonce)
	_, _ = w.WriteString(`, algorithm=`)
	_, _ = w.WriteString(c.Algorithm)
	_, _ = w.WriteString(`, qop="auth"`)
	if c.Stale {
		_, _ = w.WriteString(`, stale=true`)
	}
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
	algs := n.Algorithms()
	out := make([]string, 0, len(algs))
	for _, alg := range algs {
		out = append(out, Challenge{Realm: realm, Stale: stale, Algorithm: alg}.Value(nonce))
	}
	return out
}

// Algorithms returns the algorithms challenges offer, in preference order
// (one challenge each, all with the same nonce).
func (n *Nonces) Algorithms() []string {
	if len(n.algs) == 0 { // a Nonces not made by NewNonces
		return DefaultAlgorithms()
	}
	return n.algs
}

// writeQuoted writes s as an RFC 3261 quoted-string.
func writeQuoted(b Writer, s string) {
	_ = b.WriteByte('"')
	if !needsEscape(s) { // realms and nonces: in one piece
		_, _ = b.WriteString(s)
		_ = b.WriteByte('"')
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			_ = b.WriteByte('\\')
			_ = b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			// dropped: CR, LF and other controls may not appear in a header
		default:
			_ = b.WriteByte(c)
		}
	}
	_ = b.WriteByte('"')
}

// needsEscape says whether writeQuoted changes anything of s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
