package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// capture writes a pcap file the way tcpdump does, for the tests.
type capture struct {
	buf   bytes.Buffer
	order binary.ByteOrder
	nano  bool
	link  uint32
}

func newCapture(order binary.ByteOrder, nano bool, link uint32) *capture {
	c := &capture{order: order, nano: nano, link: link}
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	g := make([]byte, 24)
	c.order.PutUint32(g[0:], magic)
	c.order.PutUint16(g[4:], 2)
	c.order.PutUint16(g[6:], 4)
	c.order.PutUint32(g[16:], 65535)
	c.order.PutUint32(g[20:], link)
	c.buf.Write(g)
	return c
}

func (c *capture) packet(at time.Duration, frame []byte) {
	h := make([]byte, 16)
	c.order.PutUint32(h[0:], uint32(at/time.Second))
	frac := at % time.Second
	if c.nano {
		c.order.PutUint32(h[4:], uint32(frac))
	} else {
		c.order.PutUint32(h[4:], uint32(frac/time.Microsecond))
	}
	c.order.PutUint32(h[8:], uint32(len(frame)))
	c.order.PutUint32(h[12:], uint32(len(frame)))
	c.buf.Write(h)
	c.buf.Write(frame)
}

// udp frames a datagram for the capture's link type; fragment marks the
// IPv4 packet as a first fragment.
func (c *capture) udp(at time.Duration, src, dst string, payload string, fragment bool) {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], s.Port())
	binary.BigEndian.PutUint16(u[2:], d.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	u = append(u, payload...)
	var ip []byte
	proto := uint16(0x0800)
	if s.Addr().Is4() {
		ip = make([]byte, 20)
		ip[0] = 0x45
		ip[9] = 17
		if fragment {
			binary.BigEndian.PutUint16(ip[6:], 0x2000)
		}
		copy(ip[12:], s.Addr().AsSlice())
		copy(ip[16:], d.Addr().AsSlice())
	} else {
		proto = 0x86dd
		ip = make([]byte, 40)
		ip[0] = 0x60
		ip[6] = 17
		copy(ip[8:], s.Addr().AsSlice())
		copy(ip[24:], d.Addr().AsSlice())
	}
	var link []byte
	switch c.link {
	case linkEthernet:
		link = make([]byte, 14)
		binary.BigEndian.PutUint16(link[12:], proto)
	case linkSLL:
		link = make([]byte, 16)
		binary.BigEndian.PutUint16(link[14:], proto)
	case linkSLL2:
		link = make([]byte, 20)
		binary.BigEndian.PutUint16(link[0:], proto)
	}
	c.packet(at, append(append(link, ip...), u...))
}

func request(method, callID string, cseq int) string {
	return fmt.Sprintf("%s sip:1000@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-%s-%d\r\n"+
		"From: <sip:1000@example.com>;tag=a\r\nTo: <sip:1000@example.com>\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", method, callID, cseq, callID, cseq, method)
}

func response(code int, method, callID string, cseq int) string {
	return fmt.Sprintf("SIP/2.0 %d X\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-%s-%d\r\n"+
		"From: <sip:1000@example.com>;tag=a\r\nTo: <sip:1000@example.com>;tag=b\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"Content-Length: 0\r\n\r\n", code, callID, cseq, callID, cseq, method)
}

const (
	srv    = "127.0.0.1:5060"
	client = "127.0.0.1:5070"
	uas    = "127.0.0.1:5080"
)

func us(n int) time.Duration { return time.Duration(n) * time.Microsecond }

// registrations: four flows timed 450, 200, 90 and 1,500 µs, one
// unanswered, one refused, and what must not be timed.
func registrations(c *capture) {
	base := 1_700_000_000 * time.Second
	c.udp(base+us(0), client, srv, request("REGISTER", "a", 1), false)
	c.udp(base+us(100), srv, client, response(401, "REGISTER", "a", 1), false)
	c.udp(base+us(300), client, srv, request("REGISTER", "a", 2), false)
	c.udp(base+us(450), srv, client, response(200, "REGISTER", "a", 2), false)
	c.udp(base+us(460), srv, client, response(200, "REGISTER", "a", 2), false) // a retransmitted answer: timed once

	c.udp(base+us(1000), client, srv, request("REGISTER", "b", 1), false)
	c.udp(base+us(1100), client, srv, request("REGISTER", "b", 1), false) // a retransmission: the first counts
	c.udp(base+us(1200), srv, client, response(200, "REGISTER", "b", 1), false)

	c.udp(base+us(2000), client, srv, request("REGISTER", "c", 1), false) // never answered
	c.udp(base+us(2100), client, srv, request("REGISTER", "d", 1), false)
	c.udp(base+us(2200), srv, client, response(503, "REGISTER", "d", 1), false) // failed

	c.udp(base+us(2500), srv, client, response(200, "REGISTER", "x", 1), false)     // its start was before the capture
	c.udp(base+us(2600), client, uas, request("REGISTER", "y", 1), false)           // not the server's
	c.udp(base+us(2700), uas, srv, response(200, "REGISTER", "y", 1), false)        // to the server, not from it
	c.udp(base+us(2800), client, srv, request("OPTIONS", "e", 1), false)            // another method
	c.udp(base+us(2900), srv, client, response(200, "OPTIONS", "e", 1), false)      //
	c.udp(base+us(3000), client, srv, "\r\n\r\n", false)                            // a keep-alive
	c.udp(base+us(3100), client, srv, "not SIP at all, but long enough", false)     // unparsable
	c.udp(base+us(3200), client, srv, request("REGISTER", "f", 1), true)            // a fragment: skipped
	c.udp(base+us(4000), client, srv, request("REGISTER", "g", 1), false)           //
	c.udp(base+us(4090), srv, client, response(200, "REGISTER", "g", 1), false)     // 90 µs
	c.udp(base+us(5000), "127.0.0.1:5071", srv, request("REGISTER", "g", 1), false) // same call-ID, another client
	c.udp(base+us(6500), srv, "127.0.0.1:5071", response(200, "REGISTER", "g", 1), false)
}

func runOn(t *testing.T, c *capture, method string, tsv bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cap.pcap")
	if err := os.WriteFile(path, c.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(srv, method, tsv, 0, []string{path}, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestRegistrationsTimedFromFirstRequestToFirst2xx(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order binary.ByteOrder
		nano  bool
		link  uint32
	}{
		{"ethernet-us-le", binary.LittleEndian, false, linkEthernet},
		{"ethernet-ns-be", binary.BigEndian, true, linkEthernet},
		{"sll", binary.LittleEndian, true, linkSLL},
		{"sll2", binary.LittleEndian, false, linkSLL2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCapture(tc.order, tc.nano, tc.link)
			registrations(c)
			// answered, p50 p90 p99 p99.9 max mean of the flows (90, 200,
			// 450, 1500 µs), unanswered, the same of the 2xx's transactions
			// (90, 150, 200, 1500 µs)
			want := "4\t0.200\t1.500\t1.500\t1.500\t1.500\t0.560\t1\t0.150\t1.500\t1.500\t1.500\t1.500\t0.485\n"
			if got := runOn(t, c, "REGISTER", true); got != want {
				t.Errorf("tsv = %q, want %q", got, want)
			}
			text := runOn(t, c, "REGISTER", false)
			for _, w := range []string{"6 started", "4 answered 2xx", "1 failed", "1 not answered", "1 unparsable", "1 packets not UDP"} {
				if !strings.Contains(text, w) {
					t.Errorf("text %q lacks %q", text, w)
				}
			}
		})
	}
}

func TestSlowTransactionsListed(t *testing.T) {
	c := newCapture(binary.LittleEndian, false, linkEthernet)
	registrations(c)
	path := filepath.Join(t.TempDir(), "cap.pcap")
	if err := os.WriteFile(path, c.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(srv, "REGISTER", true, 150*time.Microsecond, []string{path}, &out); err != nil {
		t.Fatal(err)
	}
	// The transactions of 150, 200 and 1,500 µs (not the one of 90), in the
	// order their 2xx was captured, stamped with their request's time.
	want := "slow\t2023-11-14T22:13:20.000300Z\t0.150\n" +
		"slow\t2023-11-14T22:13:20.001000Z\t0.200\n" +
		"slow\t2023-11-14T22:13:20.005000Z\t1.500\n"
	lines := strings.SplitN(out.String(), "\n", 2)
	if len(lines) != 2 || lines[1] != want {
		t.Errorf("output %q, want the tsv line then %q", out.String(), want)
	}
}

func TestInviteThroughAProxy(t *testing.T) {
	// A proxy challenges, then forwards the INVITE with the same call-ID:
	// only the client's side is timed (first INVITE in, through the 407, to
	// the 200 out to the client).
	c := newCapture(binary.LittleEndian, true, linkEthernet)
	base := time.Second
	c.udp(base, "[::1]:5070", "[::1]:5060", request("INVITE", "i", 1), false)
	c.udp(base+us(20), "[::1]:5060", "[::1]:5070", response(407, "INVITE", "i", 1), false) // the challenge
	c.udp(base+us(40), "[::1]:5070", "[::1]:5060", request("INVITE", "i", 2), false)
	c.udp(base+us(50), "[::1]:5060", "[::1]:5080", request("INVITE", "i", 2), false)
	c.udp(base+us(60), "[::1]:5060", "[::1]:5070", response(100, "INVITE", "i", 2), false)
	c.udp(base+us(400), "[::1]:5080", "[::1]:5060", response(200, "INVITE", "i", 2), false)
	c.udp(base+us(470), "[::1]:5060", "[::1]:5070", response(200, "INVITE", "i", 2), false)
	path := filepath.Join(t.TempDir(), "cap.pcap")
	if err := os.WriteFile(path, c.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run("[::1]:5060", "INVITE", true, 0, []string{path}, &out); err != nil {
		t.Fatal(err)
	}
	if want := "1\t0.470\t0.470\t0.470\t0.470\t0.470\t0.470\t0\t0.430\t0.430\t0.430\t0.430\t0.430\t0.430\n"; out.String() != want {
		t.Errorf("tsv = %q, want %q", out.String(), want)
	}
}

func TestTruncatedCaptureEndsCleanly(t *testing.T) {
	c := newCapture(binary.LittleEndian, false, linkEthernet)
	registrations(c)
	b := c.buf.Bytes()
	c.buf.Truncate(len(b) - 30) // tcpdump killed mid-record: the last 200 is lost
	if got, want := runOn(t, c, "REGISTER", true), "3\t0.200\t0.450\t0.450\t0.450\t0.450\t0.247\t2\t0.150\t0.200\t0.200\t0.200\t0.200\t0.147\n"; got != want {
		t.Errorf("tsv = %q, want %q", got, want)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "x.pcapng")
	os.WriteFile(notPcap, []byte("\x0a\x0d\x0d\x0a-pcapng-header-bytes-here"), 0o644)
	for _, tc := range []struct {
		server, method string
		files          []string
		want           string
	}{
		{"127.0.0.1", "INVITE", []string{notPcap}, "want host:port"},
		{srv, "IN VITE", []string{notPcap}, "want a SIP method"},
		{srv, "INVITE", nil, "one pcap file expected"},
		{srv, "INVITE", []string{filepath.Join(dir, "missing")}, "no such file"},
		{srv, "INVITE", []string{notPcap}, "not a pcap file"},
	} {
		err := run(tc.server, tc.method, false, 0, tc.files, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q, %q, %v) = %v, want an error with %q", tc.server, tc.method, tc.files, err, tc.want)
		}
	}
}
