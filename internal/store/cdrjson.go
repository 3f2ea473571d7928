package store

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// appendCDRJSON appends c as encoding/json's Encoder writes it (the same
// bytes: field order, omitempty, HTML-safe string escaping, RFC 3339 times
// with nanoseconds, the final newline). ok is false for what it leaves to
// encoding/json: a time outside years 0-9999, which json refuses.
//
// Why: the CDR journal writes one line per call on the call's path, and
// encoding/json's reflection was 1.6 % of a call's CPU at 2,000 calls/s
// (perf, issue #8). TestAppendCDRJSONMatchesEncoder holds it to json's
// bytes; the journal is read back with json.Unmarshal.
func appendCDRJSON(b []byte, c *pbx.CDR) ([]byte, bool) {
	if !jsonTime(c.Start) || !jsonTime(c.End) || c.Answer != nil && !jsonTime(*c.Answer) {
		return b, false
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, c.ID, 10)
	b = appendField(b, "callId", c.CallID)
	b = appendField(b, "tenant", c.Tenant)
	b = appendField(b, "caller", c.Caller)
	b = appendField(b, "callee", c.Callee)
	b = appendField(b, "dialed", c.Dialed)
	b = appendTimeField(b, "start", c.Start)
	if c.Answer != nil {
		b = appendTimeField(b, "answer", *c.Answer)
	}
	b = appendTimeField(b, "end", c.End)
	b = append(b, `,"durationSeconds":`...)
	b = strconv.AppendInt(b, c.Duration, 10)
	b = appendField(b, "result", string(c.Result))
	b = append(b, `,"cause":`...)
	b = strconv.AppendInt(b, int64(c.Cause), 10)
	if c.HangupBy != "" {
		b = appendField(b, "hangupBy", string(c.HangupBy))
	}
	if c.EndReason != "" {
		b = appendField(b, "endReason", c.EndReason)
	}
	if c.Emergency {
		b = append(b, `,"emergency":true`...)
	}
	if c.Via != "" {
		b = appendField(b, "via", c.Via)
	}
	return append(b, "}\n"...), true
}

// jsonTime is whether json encodes t (Time.MarshalJSON refuses other years).
func jsonTime(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendJSONString(b, v)
}

func appendTimeField(b []byte, name string, t time.Time) []byte {
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString is encoding/json's string encoding with HTML escaping
// (the Encoder's default): <, > and & as \u003c..., control characters as
// \n, \r, \t, \b, \f or \u00XX, invalid UTF-8 as \ufffd, U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
