package signaling

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// writeMessage writes m into b byte for byte as sipgo's StringWrite does
// (ADR 0007, first step: the messages stay sipgo's, only their writing is
// ours). sipgo's writer allocated ≈ 48 objects a call: every URI with
// parameters went through a string (HeaderParams.ToString), every host
// through net.ParseIP (its isIPV6 quick reject ranges over the string's
// indices, so it never fires), every port and number through strconv.Itoa,
// and every body was converted to a string. This one allocates nothing.
//
// TestWriteMessageMatchesSipgo compares the two on built messages and on
// every parsable message of the RFC 4475 and PROTOS corpora; anything this
// writer does not know (compact header names, header types of its own) is
// written by sipgo.
func writeMessage(b *bytes.Buffer, m sip.Message) {
	switch m := m.(type) {
	case *sip.Request:
		if m.CompactHeaders {
			m.StringWrite(b)
			return
		}
		b.WriteString(string(m.Method))
		b.WriteByte(' ')
		writeURI(b, &m.Recipient)
		b.WriteByte(' ')
		b.WriteString(m.SipVersion)
		writeHeadersBody(b, m.Headers(), m.Body())
	case *sip.Response:
		if m.CompactHeaders {
			m.StringWrite(b)
			return
		}
		b.WriteString(m.SipVersion)
		b.WriteByte(' ')
		writeInt(b, m.StatusCode)
		b.WriteByte(' ')
		b.WriteString(m.Reason)
		writeHeadersBody(b, m.Headers(), m.Body())
	default:
		m.StringWrite(b)
	}
}

// writeHeadersBody writes what follows the start line: its CRLF, the
// headers, the empty line and the body.
func writeHeadersBody(b *bytes.Buffer, hs []sip.Header, body []byte) {
	b.WriteString("\r\n")
	for i, h := range hs {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(h.Name())
		b.WriteString(": ")
		writeHeaderValue(b, h)
	}
	b.WriteString("\r\n\r\n")
	b.Write(body)
}

// writeHeaderValue writes the value of h as its valueStringWrite does.
func writeHeaderValue(b *bytes.Buffer, h sip.Header) {
	switch h := h.(type) {
	case *sip.ViaHeader:
		writeVia(b, h, h.Params)
	case *sip.FromHeader:
		writeNameAddr(b, h.DisplayName, &h.Address, h.Params)
	case *sip.ToHeader:
		writeNameAddr(b, h.DisplayName, &h.Address, h.Params)
	case *sip.ContactHeader:
		if h.Address.Wildcard {
			b.WriteByte('*')
			return
		}
		writeNameAddr(b, h.DisplayName, &h.Address, h.Params)
	case *sip.CallIDHeader:
		b.WriteString(string(*h))
	case *sip.CSeqHeader:
		writeInt(b, int(h.SeqNo))
		b.WriteByte(' ')
		b.WriteString(string(h.MethodName))
	case *sip.MaxForwardsHeader:
		writeInt(b, int(*h))
	case *sip.ContentLengthHeader:
		writeInt(b, int(*h))
	case *sip.ContentTypeHeader:
		b.WriteString(string(*h))
	case *sip.RouteHeader:
		writeAngle(b, &h.Address)
	case *sip.RecordRouteHeader:
		writeAngle(b, &h.Address)
	default:
		b.WriteString(h.Value())
	}
}

// writeVia writes the value of a Via with params as its parameters.
func writeVia(b *bytes.Buffer, h *sip.ViaHeader, params sip.HeaderParams) {
	b.WriteString(h.ProtocolName)
	b.WriteByte('/')
	b.WriteString(h.ProtocolVersion)
	b.WriteByte('/')
	b.WriteString(h.Transport)
	b.WriteByte(' ')
	writeHostPort(b, h.Host, h.Port)
	writeParams(b, ';', params)
}

// writeNameAddr writes a From, To or Contact value: ["name" ]<uri>[;params].
func writeNameAddr(b *bytes.Buffer, display string, u *sip.Uri, params sip.HeaderParams) {
	if display != "" {
		b.WriteByte('"')
		b.WriteString(display)
		b.WriteString("\" ")
	}
	writeAngle(b, u)
	writeParams(b, ';', params)
}

func writeAngle(b *bytes.Buffer, u *sip.Uri) {
	b.WriteByte('<')
	writeURI(b, u)
	b.WriteByte('>')
}

// writeURI writes u as sip.Uri.StringWrite does.
func writeURI(b *bytes.Buffer, u *sip.Uri) {
	if u.Scheme == "" {
		b.WriteString("sip")
	} else {
		b.WriteString(u.Scheme)
	}
	b.WriteByte(':')
	if raw := u.Raw(); raw != "" {
		b.WriteString(raw)
		return
	}
	if u.HierarhicalSlashes {
		b.WriteString("//")
	}
	if u.User != "" {
		b.WriteString(u.User)
		if u.Password != "" {
			b.WriteByte(':')
			b.WriteString(u.Password)
		}
		b.WriteByte('@')
	}
	writeHostPort(b, u.Host, u.Port)
	writeParams(b, ';', u.UriParams)
	if len(u.Headers) > 0 {
		b.WriteByte('?')
		writeParamList(b, '&', u.Headers)
	}
}

// writeParams writes ";"-led parameters, or nothing when there are none.
func writeParams(b *bytes.Buffer, sep byte, ps sip.HeaderParams) {
	if len(ps) == 0 {
		return
	}
	b.WriteByte(sep)
	writeParamList(b, sep, ps)
}

// writeParamList writes k[=v] pairs joined by sep; a value with a space or
// a tab is quoted (sipgo's HeaderParams.ToString and ToStringWrite agree).
func writeParamList(b *bytes.Buffer, sep byte, ps sip.HeaderParams) {
	for i, kv := range ps {
		if i > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(kv.K)
		switch {
		case kv.V == "":
		case strings.ContainsAny(kv.V, " \t"):
			b.WriteString("=\"")
			b.WriteString(kv.V)
			b.WriteByte('"')
		default:
			b.WriteByte('=')
			b.WriteString(kv.V)
		}
	}
}

// writeHostPort writes host[:port] (no port when 0) of a URI or a Via.
func writeHostPort(b *bytes.Buffer, host string, port int) {
	writeHost(b, host)
	if port > 0 {
		b.WriteByte(':')
		writeInt(b, port)
	}
}

// writeHost writes a host, in brackets when it is a bare IPv6 address: what
// sipgo's uriIP means (net.ParseIP(host) is an address that is not IPv4),
// without parsing hosts that cannot be one.
func writeHost(b *bytes.Buffer, host string) {
	if strings.IndexByte(host, ':') >= 0 && strings.IndexByte(host, '%') < 0 {
		if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() {
			b.WriteByte('[')
			b.WriteString(host)
			b.WriteByte(']')
			return
		}
	}
	b.WriteString(host)
}

func writeInt(b *bytes.Buffer, n int) {
	b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(n), 10))
}
