package robust

// Raw SIP over UDP and TCP: the torture tests send bytes exactly as they
// are and read whatever comes back, without a SIP stack of their own (the
// one under test must not also judge the answers).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// message is a SIP message as received: start line, headers in order,
// body.
type message struct {
	start  string
	code   int // status code of a response, 0 for a request
	reason string
	hdrs   []header
	body   []byte
	raw    []byte
}

type header struct{ name, value string }

// get returns the first value of the named header (case-insensitive; the
// compact forms our server never sends are not mapped).
func (m *message) get(name string) string {
	for _, h := range m.hdrs {
		if strings.EqualFold(h.name, name) {
			return h.value
		}
	}
	return ""
}

func (m *message) all(name string) []string {
	var out []string
	for _, h := range m.hdrs {
		if strings.EqualFold(h.name, name) {
			out = append(out, h.value)
		}
	}
	return out
}

func (m *message) String() string { return string(m.raw) }

// parseMessage reads one message: start line, headers (folded lines
// joined), and a body of Content-Length bytes (the rest when absent and
// rest is true). It returns the bytes consumed.
func parseMessage(b []byte, rest bool) (*message, int, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, 0, io.ErrUnexpectedEOF
	}
	head := strings.Split(string(b[:end]), "\r\n")
	m := &message{start: head[0]}
	if strings.HasPrefix(m.start, "SIP/") {
		f := strings.SplitN(m.start, " ", 3)
		if len(f) < 2 {
			return nil, 0, fmt.Errorf("bad status line %q", m.start)
		}
		code, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, 0, fmt.Errorf("bad status line %q", m.start)
		}
		m.code = code
		if len(f) == 3 {
			m.reason = f[2]
		}
	}
	for _, line := range head[1:] {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(m.hdrs) > 0 {
			m.hdrs[len(m.hdrs)-1].value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, 0, fmt.Errorf("bad header line %q", line)
		}
		m.hdrs = append(m.hdrs, header{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	n := end + 4
	if cl := m.get("Content-Length"); cl != "" {
		l, err := strconv.Atoi(cl)
		if err != nil || l < 0 {
			return nil, 0, fmt.Errorf("bad Content-Length %q", cl)
		}
		if len(b) < n+l {
			return nil, 0, io.ErrUnexpectedEOF
		}
		m.body, n = b[n:n+l], n+l
	} else if rest {
		m.body, n = b[n:], len(b)
	}
	m.raw = b[:n]
	return m, n, nil
}

// exchange is what came back for one transmission.
type exchange struct {
	responses []*message
	closed    bool // TCP: the server closed the connection
}

// finals are the distinct final status codes received, in order.
func (e exchange) finals() []int {
	var out []int
	seen := map[int]bool{}
	for _, r := range e.responses {
		if r.code >= 200 && !seen[r.code] {
			seen[r.code] = true
			out = append(out, r.code)
		}
	}
	return out
}

func (e exchange) final(code int) *message {
	for _, r := range e.responses {
		if r.code == code {
			return r
		}
	}
	return nil
}

// sipSocket is a UDP socket of the test's own on 127.0.0.1.
type sipSocket struct {
	conn *net.UDPConn
	dst  *net.UDPAddr
}

func dialUDP(t *testing.T, addr string) *sipSocket {
	t.Helper()
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &sipSocket{conn: c, dst: dst}
}

func (s *sipSocket) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *sipSocket) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := s.conn.WriteToUDP(b, s.dst); err != nil {
		t.Fatal(err)
	}
}

// collect reads responses until done says the exchange is complete or
// wait has passed since the start; quiet is how long to keep listening
// after done (for late duplicates), bounded by wait too.
func (s *sipSocket) collect(wait time.Duration, done func([]*message) bool) []*message {
	var out []*message
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65535)
	for time.Now().Before(deadline) {
		_ = s.conn.SetReadDeadline(deadline)
		n, _, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			break
		}
		if m, _, err := parseMessage(append([]byte(nil), buf[:n]...), true); err == nil {
			out = append(out, m)
		}
		if done != nil && done(out) {
			break
		}
	}
	return out
}

// hasFinal is a collect condition: a final response arrived.
func hasFinal(ms []*message) bool {
	for _, m := range ms {
		if m.code >= 200 {
			return true
		}
	}
	return false
}

// udpExchange sends b from a fresh socket and collects the answers until
// a final response or wait.
func udpExchange(t *testing.T, addr string, b []byte, wait time.Duration) exchange {
	t.Helper()
	s := dialUDP(t, addr)
	s.send(t, b)
	return exchange{responses: s.collect(wait, hasFinal)}
}

// tcpExchange sends b on a fresh connection, half-closes nothing, and reads
// until wait passes, the server closes, or want final responses arrived.
func tcpExchange(t *testing.T, addr string, b []byte, wait time.Duration, want int) exchange {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		return exchange{closed: true}
	}
	var ex exchange
	var buf []byte
	r := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	chunk := make([]byte, 65535)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			m, used, perr := parseMessage(buf, false)
			if perr != nil {
				break
			}
			ex.responses = append(ex.responses, m)
			buf = buf[used:]
		}
		if want > 0 && len(ex.finals()) >= want {
			return ex
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return ex
			}
			ex.closed = true // EOF or reset
			return ex
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
