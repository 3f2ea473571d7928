package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ErrMalformed is wrapped by every ParseCredentials error; the SIP adapter
// answers 400.
var ErrMalformed = errors.New("malformed digest credentials")

// Credentials is a parsed Authorization / Proxy-Authorization header value.
// Nc is the nonce count as 8 lowercase hex digits ("" without qop).
type Credentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, Cnonce, QOP, Nc, Opaque string
}

// algorithm identifies a supported digest hash.
type algorithm int

const (
	algUnknown algorithm = iota
	algMD5
	algSHA256
)

func parseAlgorithm(s string) algorithm {
	switch {
	case s == "" || strings.EqualFold(s, pbx.AlgMD5):
		return algMD5
	case strings.EqualFold(s, pbx.AlgSHA256):
		return algSHA256
	default: // MD5-sess, SHA-256-sess, SHA-512-256, ...: never offered
		return algUnknown
	}
}

// hexLen is the length of a hex digest of the algorithm.
func (a algorithm) hexLen() int {
	if a == algSHA256 {
		return 2 * sha256.Size
	}
	return 2 * md5.Size
}

// sum writes hex(H(data)) into dst (which must hold hexLen bytes) and
// returns that part of dst.
func (a algorithm) sum(dst, data []byte) []byte {
	if a == algSHA256 {
		s := sha256.Sum256(data)
		return dst[:hex.Encode(dst, s[:])]
	}
	s := md5.Sum(data)
	return dst[:hex.Encode(dst, s[:])]
}

// Verify reports whether c.Response is the digest response for method with
// the stored ha1 (hex(H(username:realm:password)) of c.Algorithm, see HA1):
//
//	qop=auth:  H(HA1:nonce:nc:cnonce:qop:HA2)
//	no qop:    H(HA1:nonce:HA2)             with HA2 = H(method:uri)
//
// Algorithms are MD5 (also when empty) and SHA-256, case-insensitively;
// any other algorithm, qop=auth-int, or an ha1 that is not hex of the
// algorithm's length yields false. The comparison is constant-time.
// Verify does not check the nonce (use Nonces.Check), the realm, the
// username or that uri matches the Request-URI: the caller does.
func Verify(c *Credentials, method, ha1 string) bool {
	if c == nil {
		return false
	}
	alg := parseAlgorithm(c.Algorithm)
	if alg == algUnknown {
		return false
	}
	var qop bool
	switch c.QOP {
	case "":
	case "auth":
		qop = true
	default:
		return false
	}
	n := alg.hexLen()

	var scratch [512]byte // the whole computation stays on the stack for usual sizes
	buf := append(scratch[:0], method...)
	buf = append(buf, ':')
	buf = append(buf, c.URI...)
	var ha2 [2 * sha256.Size]byte
	alg.sum(ha2[:], buf)

	buf = append(buf[:0], ha1...)
	buf = append(buf, ':')
	buf = append(buf, c.Nonce...)
	buf = append(buf, ':')
	if qop {
		buf = append(buf, c.Nc...)
		buf = append(buf, ':')
		buf = append(buf, c.Cnonce...)
		buf = append(buf, ':')
		buf = append(buf, c.QOP...)
		buf = append(buf, ':')
	}
	buf = append(buf, ha2[:n]...)
	var want [2 * sha256.Size]byte
	alg.sum(want[:], buf)

	if len(c.Response) != n {
		return false
	}
	var got [2 * sha256.Size]byte
	for i := 0; i < n; i++ {
		b := c.Response[i]
		if 'A' <= b && b <= 'F' {
			b += 'a' - 'A'
		}
		got[i] = b
	}
	match := subtle.ConstantTimeCompare(want[:n], got[:n])
	return match&validHex(ha1, n) == 1
}

// validHex returns 1 when s is n lowercase hex digits, else 0, looking at
// every byte so that the dummy HA1 costs as much as a real one.
func validHex(s string, n int) int {
	if len(s) != n {
		return 0
	}
	ok := 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		digit := subtle.ConstantTimeLessOrEq(int('0'), int(c)) & subtle.ConstantTimeLessOrEq(int(c), int('9'))
		letter := subtle.ConstantTimeLessOrEq(int('a'), int(c)) & subtle.ConstantTimeLessOrEq(int(c), int('f'))
		ok &= digit | letter
	}
	return ok
}

// DummyHA1 returns a fixed HA1-shaped value for algorithm to verify against
// when the username is unknown, so unknown and known users cost the same and
// get the same answer. It is deliberately not valid hex: Verify never
// accepts it, even for a response computed from this (public) value.
func DummyHA1(algorithm string) string {
	if parseAlgorithm(algorithm) == algSHA256 {
		return dummySHA256
	}
	return dummyMD5
}

// Dummy HA1 values: the right length, but "x" is not a hex digit.
const (
	dummyMD5    = "x6b1d0c9f0a4e3d2c8b7a6f5e4d3c2b1"
	dummySHA256 = "x6b1d0c9f0a4e3d2c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5"
)
