package auth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The Authorization / Proxy-Authorization grammar this parser accepts
// (RFC 3261 §25.1 and §20.7, RFC 7616 §3.4):
//
//	credentials = "Digest" LWS param *(COMMA param)
//	param       = token EQUAL ( token / quoted-string )
//	COMMA, EQUAL: optional linear white space (SP, HTAB, CR, LF) around
//
// Parameter names are case-insensitive; each of the known ones may appear
// once; unknown ones are skipped. Values are substrings of the header (no
// copy) unless a quoted string holds a backslash escape. The parser is a
// single pass over the bytes and allocates nothing on success (see
// BenchmarkParseCredentials): it replaced icholy/digest's parser, which
// cost 13-25 µs and 56 allocations per header on the REGISTER path.

// Errors of the parser; each is wrapped with ErrMalformed and the offset.
var (
	errScheme   = errors.New(`not "Digest" credentials`)
	errNoParams = errors.New("no parameters")
	errName     = errors.New("expected a parameter name")
	errEqual    = errors.New(`expected "=" after the parameter name`)
	errValue    = errors.New("expected a token or a quoted string")
	errQuote    = errors.New("unterminated quoted string")
	errControl  = errors.New("control character in a quoted string")
	errComma    = errors.New(`expected "," between parameters`)
	errRepeat   = errors.New("parameter given twice")
)

// Bits of the known parameters, to refuse repeats.
const (
	pUsername = 1 << iota
	pRealm
	pNonce
	pURI
	pResponse
	pAlgorithm
	pCnonce
	pQOP
	pNc
	pOpaque
	pUserhash
)

// ParseCredentials parses an Authorization or Proxy-Authorization header
// value ("Digest username=..., ..."). It never panics; every error wraps
// ErrMalformed. It requires username, realm, nonce, uri and response, and
// cnonce and nc when qop is given. userhash=true (RFC 7616) is refused: it
// is never offered.
func ParseCredentials(headerValue string) (*Credentials, error) {
	c := new(Credentials)
	if err := ParseCredentialsInto(c, headerValue); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseCredentialsInto is ParseCredentials into a caller's Credentials (on
// its stack, say): no allocation for the usual header. On error *c is
// left zeroed.
func ParseCredentialsInto(c *Credentials, headerValue string) error {
	*c = Credentials{}
	err := parseDigest(c, headerValue)
	if err != nil {
		*c = Credentials{}
	}
	return err
}

func parseDigest(c *Credentials, s string) error {
	s = trimLWS(s)
	const scheme = "Digest"
	if len(s) <= len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) || !isLWS(s[len(scheme)]) {
		if strings.EqualFold(s, scheme) {
			return malformed(errNoParams, len(s))
		}
		return malformed(errScheme, 0)
	}
	i := skipLWS(s, len(scheme))
	var seen int
	var nc, userhash string
	for first := true; ; first = false {
		if !first {
			i = skipLWS(s, i)
			if i == len(s) {
				break
			}
			if s[i] != ',' {
				return malformed(errComma, i)
			}
			i = skipLWS(s, i+1)
		}
		start := i
		for i < len(s) && isToken(s[i]) {
			i++
		}
		if i == start {
			return malformed(errName, i)
		}
		name := s[start:i]
		i = skipLWS(s, i)
		if i == len(s) || s[i] != '=' {
			return malformed(errEqual, i)
		}
		i = skipLWS(s, i+1)
		var value string
		var err error
		if value, i, err = parseValue(s, i); err != nil {
			return err
		}
		bit, field := c.param(name, &nc, &userhash)
		if bit == 0 {
			continue // an unknown parameter (auth-param): ignored
		}
		if seen&bit != 0 {
			return malformed(fmt.Errorf("%w: %s", errRepeat, strings.ToLower(name)), start)
		}
		seen |= bit
		*field = value
	}
	switch {
	case c.Username == "":
		return fmt.Errorf("%w: missing username", ErrMalformed)
	case c.Realm == "":
		return fmt.Errorf("%w: missing realm", ErrMalformed)
	case c.Nonce == "":
		return fmt.Errorf("%w: missing nonce", ErrMalformed)
	case c.URI == "":
		return fmt.Errorf("%w: missing uri", ErrMalformed)
	case c.Response == "":
		return fmt.Errorf("%w: missing response", ErrMalformed)
	}
	if strings.EqualFold(userhash, "true") {
		return fmt.Errorf("%w: userhash is not supported", ErrMalformed)
	}
	if c.QOP == "" {
		return nil
	}
	if c.Cnonce == "" {
		return fmt.Errorf("%w: qop without cnonce", ErrMalformed)
	}
	var ok bool
	if c.Nc, ok = normalNc(nc); !ok {
		return fmt.Errorf("%w: qop without a valid nc", ErrMalformed)
	}
	return nil
}

// param returns the bit and the field of a known parameter name; nc and
// userhash go to the caller's variables (checked after the loop).
func (c *Credentials) param(name string, nc, userhash *string) (int, *string) {
	switch len(name) {
	case 2:
		if strings.EqualFold(name, "nc") {
			return pNc, nc
		}
	case 3:
		if strings.EqualFold(name, "uri") {
			return pURI, &c.URI
		}
		if strings.EqualFold(name, "qop") {
			return pQOP, &c.QOP
		}
	case 5:
		if strings.EqualFold(name, "realm") {
			return pRealm, &c.Realm
		}
		if strings.EqualFold(name, "nonce") {
			return pNonce, &c.Nonce
		}
	case 6:
		if strings.EqualFold(name, "cnonce") {
			return pCnonce, &c.Cnonce
		}
		if strings.EqualFold(name, "opaque") {
			return pOpaque, &c.Opaque
		}
	case 8:
		if strings.EqualFold(name, "username") {
			return pUsername, &c.Username
		}
		if strings.EqualFold(name, "response") {
			return pResponse, &c.Response
		}
		if strings.EqualFold(name, "userhash") {
			return pUserhash, userhash
		}
	case 9:
		if strings.EqualFold(name, "algorithm") {
			return pAlgorithm, &c.Algorithm
		}
	}
	return 0, nil
}

// parseValue reads a token or a quoted string at s[i:] and returns it and
// the offset after it.
func parseValue(s string, i int) (string, int, error) {
	if i < len(s) && s[i] == '"' {
		return parseQuoted(s, i)
	}
	start := i
	for i < len(s) && isToken(s[i]) {
		i++
	}
	if i == start {
		return "", i, malformed(errValue, i)
	}
	return s[start:i], i, nil
}

// parseQuoted reads the quoted string at s[i] == '"'. The value is a
// substring of s unless it holds escapes (quoted-pair), then a copy.
func parseQuoted(s string, i int) (string, int, error) {
	start := i + 1
	escaped := false
	for j := start; j < len(s); j++ {
		switch b := s[j]; {
		case b == '"':
			if !escaped {
				return s[start:j], j + 1, nil
			}
			return unescape(s[start:j]), j + 1, nil
		case b == '\\':
			if j+1 == len(s) {
				return "", j, malformed(errQuote, i)
			}
			escaped = true
			if c := s[j+1]; c < 0x20 && c != '\t' || c == 0x7f {
				return "", j + 1, malformed(errControl, j+1)
			}
			j++ // the escaped byte, whatever it is
		case b < 0x20 && b != '\t' || b == 0x7f:
			return "", j, malformed(errControl, j)
		}
	}
	return "", len(s), malformed(errQuote, i)
}

// unescape removes the backslashes of quoted-pairs in q (known to be well
// formed: no trailing lone backslash).
func unescape(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	for i := 0; i < len(q); i++ {
		if q[i] == '\\' {
			i++
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// normalNc returns the nonce count as 8 lowercase hex digits: the value as
// sent when it already is (no copy), else re-formatted. It must be 1 to 8
// hex digits and not zero.
func normalNc(nc string) (string, bool) {
	if nc == "" || len(nc) > 8 {
		return "", false
	}
	lower := len(nc) == 8
	for i := 0; i < len(nc); i++ {
		switch b := nc[i]; {
		case '0' <= b && b <= '9', 'a' <= b && b <= 'f':
		case 'A' <= b && b <= 'F':
			lower = false
		default:
			return "", false
		}
	}
	n, err := strconv.ParseUint(nc, 16, 32)
	if err != nil || n == 0 {
		return "", false
	}
	if lower {
		return nc, true
	}
	return fmt.Sprintf("%08x", n), true
}

func malformed(err error, offset int) error {
	return fmt.Errorf("%w: %w at byte %d", ErrMalformed, err, offset)
}

// isLWS reports linear white space (header values may still hold folded
// line breaks).
func isLWS(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

func skipLWS(s string, i int) int {
	for i < len(s) && isLWS(s[i]) {
		i++
	}
	return i
}

func trimLWS(s string) string {
	i, j := 0, len(s)
	for i < j && isLWS(s[i]) {
		i++
	}
	for j > i && isLWS(s[j-1]) {
		j--
	}
	return s[i:j]
}

// isToken reports the token characters of RFC 3261 §25.1.
func isToken(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}
