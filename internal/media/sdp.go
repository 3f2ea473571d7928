package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

const (
	maxSDPSize = 64 << 10 // larger bodies are refused
	maxMedia   = 16       // m= lines per SDP; bounds the ports one call can take
)

// sdpDoc is an SDP body split into lines, plus the facts the relay needs.
type sdpDoc struct {
	lines    []string // without line endings; blank lines dropped
	sessConn connAddr // session-level c=
	media    []sdpMedia
	size     int    // input length, to size the output
	sessDir  string // session-level direction attribute, "" when absent
	sessHold bool   // session-level c= 0.0.0.0
}

// connAddr is what a c= line says.
type connAddr struct {
	set  bool       // a c= line was present
	addr netip.Addr // invalid for 0.0.0.0, "::" or an FQDN: nowhere to send
}

type sdpMedia struct {
	port     int        // m= port; 0 means disabled
	proto    string     // m= transport, e.g. RTP/AVP
	conn     connAddr   // media-level c=
	rtcpPort int        // from a=rtcp:, 0 if absent
	rtcpAddr netip.Addr // from a=rtcp: with an address
	dir      string     // sendrecv | sendonly | recvonly | inactive, "" when absent
	hold     bool       // c= 0.0.0.0 (RFC 2543 hold)
}

// relayed reports whether the relay carries this m= line. Streams the relay
// cannot carry (TCP based) are offered with port 0, that is, declined.
func (m *sdpMedia) relayed() bool { return m.port != 0 && m.kind() != kindNone }

func (m *sdpMedia) kind() streamKind {
	p := strings.ToUpper(m.proto)
	switch {
	case strings.Contains(p, "RTP/"):
		return kindRTP
	case p == "UDPTL" || strings.HasPrefix(p, "UDP"):
		return kindRaw
	}
	return kindNone
}

// targets returns where this party receives RTP and RTCP, as far as its SDP
// tells; an invalid AddrPort means unknown.
func (m *sdpMedia) targets(sess connAddr) (rtp, rtcp netip.AddrPort) {
	c := sess
	if m.conn.set {
		c = m.conn
	}
	if c.addr.IsValid() {
		rtp = netip.AddrPortFrom(c.addr, uint16(m.port))
	}
	switch {
	case m.rtcpPort != 0 && m.rtcpAddr.IsValid():
		rtcp = netip.AddrPortFrom(m.rtcpAddr, uint16(m.rtcpPort))
	case m.rtcpPort != 0 && c.addr.IsValid():
		rtcp = netip.AddrPortFrom(c.addr, uint16(m.rtcpPort))
	case c.addr.IsValid() && m.port < 65535:
		rtcp = netip.AddrPortFrom(c.addr, uint16(m.port+1))
	}
	return rtp, rtcp
}

func badSDP(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSDP}, args...)...)
}

// parseSDP checks the structure the relay depends on and collects the media
// descriptions. It is deliberately lenient about everything it passes through.
func parseSDP(b []byte) (*sdpDoc, error) {
	switch {
	case len(b) == 0:
		return nil, badSDP("empty body")
	case len(b) > maxSDPSize:
		return nil, badSDP("body of %d bytes is too large", len(b))
	}
	text := string(b)
	d := &sdpDoc{lines: make([]string, 0, strings.Count(text, "\n")+1), size: len(b)}
	for n := 1; text != ""; n++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return nil, badSDP("line %d is not <type>=<value>", n)
		}
		d.lines = append(d.lines, line)
	}
	if len(d.lines) == 0 || d.lines[0] != "v=0" {
		return nil, badSDP("does not start with v=0")
	}
	origin := false
	for i, line := range d.lines[1:] {
		n, v := i+2, line[2:]
		var cur *sdpMedia
		if len(d.media) > 0 {
			cur = &d.media[len(d.media)-1]
		}
		switch line[0] {
		case 'v':
			return nil, badSDP("line %d: second v=", n)
		case 'o':
			if origin || cur != nil {
				return nil, badSDP("line %d: misplaced o=", n)
			}
			if _, _, _, rest := fields3(v); countFields(rest) != 3 {
				return nil, badSDP("line %d: o= needs 6 fields", n)
			}
			origin = true
		case 'c':
			c, err := parseConn(v)
			if err != nil {
				return nil, badSDP("line %d: %v", n, err)
			}
			if cur != nil {
				cur.conn = c
				cur.hold = isHold(v)
			} else {
				d.sessConn, d.sessHold = c, isHold(v)
			}
		case 'm':
			if len(d.media) == maxMedia {
				return nil, badSDP("more than %d m= lines", maxMedia)
			}
			m, err := parseMedia(v)
			if err != nil {
				return nil, badSDP("line %d: %v", n, err)
			}
			d.media = append(d.media, m)
		case 'a':
			if cur != nil && strings.HasPrefix(v, "rtcp:") {
				cur.rtcpPort, cur.rtcpAddr = parseRTCPAttr(v[len("rtcp:"):])
			}
			switch v {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				if cur != nil {
					cur.dir = v
				} else {
					d.sessDir = v
				}
			}
		}
	}
	if !origin {
		return nil, badSDP("no o= line")
	}
	for i := range d.media {
		if m := &d.media[i]; m.port != 0 && !m.conn.set && !d.sessConn.set {
			return nil, badSDP("m= line %d has no c= line", i+1)
		}
	}
	return d, nil
}

// held reports whether the body puts its relayed streams on hold: every
// relayed m= line is sendonly, recvonly or inactive (or its c= is 0.0.0.0),
// so little or no RTP is expected. A body with no relayed stream is not
// held.
func (d *sdpDoc) held() bool {
	n := 0
	for i := range d.media {
		m := &d.media[i]
		if !m.relayed() {
			continue
		}
		n++
		dir := m.dir
		if dir == "" {
			dir = d.sessDir
		}
		hold := m.hold || (!m.conn.set && d.sessHold)
		if !hold && (dir == "" || dir == "sendrecv") {
			return false
		}
	}
	return n > 0
}

// parseConn parses the value of a c= line: IN IP4|IP6 address[/ttl[/n]].
func parseConn(v string) (connAddr, error) {
	nettype, addrtype, addr, rest := fields3(v)
	if nettype != "IN" || (addrtype != "IP4" && addrtype != "IP6") || addr == "" || countFields(rest) != 0 {
		return connAddr{}, fmt.Errorf("c= must be IN IP4|IP6 <address>, got %q", v)
	}
	addr, _, _ = strings.Cut(addr, "/")
	c := connAddr{set: true}
	if a, err := netip.ParseAddr(addr); err == nil && a.Zone() == "" && !a.Unmap().IsUnspecified() {
		c.addr = a.Unmap()
	}
	return c, nil
}

// isHold reports whether a c= value carries the unspecified address, the
// RFC 2543 way to put a call on hold; such lines pass through unchanged.
func isHold(v string) bool {
	_, _, addr, _ := fields3(v)
	addr, _, _ = strings.Cut(addr, "/")
	return addr == "0.0.0.0" || addr == "::"
}

func parseMedia(v string) (sdpMedia, error) {
	media, port, proto, _ := fields3(v)
	if media == "" || proto == "" {
		return sdpMedia{}, fmt.Errorf("m= needs <media> <port> <proto>, got %q", v)
	}
	port, _, _ = strings.Cut(port, "/") // a port count is not supported; the relay gives one port
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return sdpMedia{}, fmt.Errorf("bad m= port %q", port)
	}
	return sdpMedia{port: p, proto: proto}, nil
}

// parseRTCPAttr parses a=rtcp:<port> [IN IP4|IP6 <address>]. A value it does
// not understand is ignored: RTCP then goes to the RTP port + 1.
func parseRTCPAttr(v string) (int, netip.Addr) {
	port, rest := nextField(v)
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return 0, netip.Addr{}
	}
	if countFields(rest) == 0 {
		return p, netip.Addr{}
	}
	c, err := parseConn(rest)
	if err != nil || !c.addr.IsValid() {
		return p, netip.Addr{}
	}
	return p, c.addr
}

func isICE(attr string) bool {
	name, _, _ := strings.Cut(attr, ":")
	return name == "candidate" || name == "end-of-candidates" ||
		name == "remote-candidates" || strings.HasPrefix(name, "ice-")
}

// render writes the SDP for the other party: o= (user "-") and c= point at adv, each m=
// carries port(i) (0 keeps the line disabled), a=rtcp follows the relay's
// RTCP port, ICE lines are dropped, and every other line is copied as is.
func (d *sdpDoc) render(adv string, port func(i int) int) []byte {
	out := make([]byte, 0, d.size+len(d.lines)*8)
	mi, mport := -1, 0
	for _, line := range d.lines {
		v := line[2:]
		switch line[0] {
		case 'o':
			// The origin's user name ("Polycom", "alice") is replaced with
			// "-" (RFC 4566): nothing of either party leaks to the other.
			_, id, version, _ := fields3(v)
			out = append(out, "o=- "...)
			out = append(out, id...)
			out = append(out, ' ')
			out = append(out, version...)
			out = append(out, ' ')
			out = append(out, adv...)
		case 'c':
			if isHold(v) {
				out = append(out, line...)
				break
			}
			out = append(out, "c="...)
			out = append(out, adv...)
		case 'm':
			mi++
			mport = port(mi)
			media, rest := nextField(v)
			_, rest = nextField(rest)
			out = append(out, "m="...)
			out = append(out, media...)
			out = append(out, ' ')
			out = strconv.AppendInt(out, int64(mport), 10)
			out = append(out, rest...)
		case 'a':
			if isICE(v) {
				continue
			}
			if mi < 0 || !strings.HasPrefix(v, "rtcp:") {
				out = append(out, line...)
				break
			}
			if mport == 0 {
				continue
			}
			_, rest := nextField(v[len("rtcp:"):])
			out = append(out, "a=rtcp:"...)
			out = strconv.AppendInt(out, int64(mport+1), 10)
			if countFields(rest) != 0 {
				out = append(out, ' ')
				out = append(out, adv...)
			}
		default:
			out = append(out, line...)
		}
		out = append(out, '\r', '\n')
	}
	return out
}

// nextField splits off the first space-separated field of s; rest keeps its
// leading separator so that it can be copied verbatim.
func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

func fields3(s string) (a, b, c, rest string) {
	a, rest = nextField(s)
	b, rest = nextField(rest)
	c, rest = nextField(rest)
	return a, b, c, rest
}

func countFields(s string) int {
	n := 0
	for {
		var f string
		if f, s = nextField(s); f == "" {
			return n
		}
		n++
	}
}
