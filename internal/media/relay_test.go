package media

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// peer is a fake phone: a UDP socket on 127.0.0.1.
type peer struct {
	t    *testing.T
	conn *net.UDPConn
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &peer{t: t, conn: c}
}

func (p *peer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *peer) send(port int, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP(b, &net.UDPAddr{IP: loopback(), Port: port}); err != nil {
		p.t.Fatal(err)
	}
}

// recv waits for the next datagram, with a deadline.
func (p *peer) recv() []byte {
	p.t.Helper()
	buf := make([]byte, 1500)
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := p.conn.ReadFromUDP(buf)
	if err != nil {
		p.t.Fatalf("peer %d: %v", p.port(), err)
	}
	return buf[:n]
}

func (p *peer) expect(want []byte) {
	p.t.Helper()
	if got := p.recv(); !bytes.Equal(got, want) {
		p.t.Fatalf("peer %d got %x, want %x", p.port(), got, want)
	}
}

func rtpPacket(t *testing.T, seq uint16) []byte {
	t.Helper()
	b, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x1234},
		Payload: bytes.Repeat([]byte{0xff}, 160),
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func audioSDP(port int, extra string) string {
	return fmt.Sprintf("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\n%s", port, extra)
}

// relayPort reads the m= port of the first m= line.
func relayPort(t *testing.T, sdp string) int {
	t.Helper()
	_, rest, ok := strings.Cut(sdp, "m=audio ")
	port, _, _ := strings.Cut(rest, " ")
	p, err := strconv.Atoi(port)
	if !ok || err != nil {
		t.Fatalf("no m=audio port in %q", sdp)
	}
	return p
}

func TestForwarding(t *testing.T) {
	r, _ := newTestRelay(t, 4)
	s, _ := r.NewSession("udp")
	defer s.Close()

	caller := newPeer(t)
	calleeSDP := newPeer(t)  // where the callee's SDP says it listens
	callee := newPeer(t)     // where its packets really come from (NAT)
	calleeRTCP := newPeer(t) // its a=rtcp address

	toB := relayPort(t, mustRewrite(t, s, SideA, audioSDP(caller.port(), "")))
	toA := relayPort(t, mustRewrite(t, s, SideB, audioSDP(calleeSDP.port(), fmt.Sprintf("a=rtcp:%d\n", calleeRTCP.port()))))

	// Before the callee sent anything, its SDP address is the target.
	p1 := rtpPacket(t, 1)
	caller.send(toA, p1)
	calleeSDP.expect(p1)

	// The callee's packets reach the caller and latch its real address.
	p2 := rtpPacket(t, 2)
	callee.send(toB, p2)
	caller.expect(p2)
	p3 := rtpPacket(t, 3)
	caller.send(toA, p3)
	callee.expect(p3)

	// Not RTP: dropped, the next packet is the first to arrive.
	caller.send(toA, []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b})
	p4 := rtpPacket(t, 4)
	caller.send(toA, p4)
	callee.expect(p4)

	// RTCP goes from port+1 to the callee's a=rtcp address.
	rr, err := (&rtcp.ReceiverReport{SSRC: 0x1234}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	caller.send(toA+1, rr)
	calleeRTCP.expect(rr)

	want := Stats{PacketsAtoB: 3, PacketsBtoA: 1, BytesAtoB: uint64(len(p1) + len(p3) + len(p4)),
		BytesBtoA: uint64(len(p2)), RTCPPacketsAtoB: 1, Dropped: 1}
	waitFor(t, "stats", func() bool { return s.Stats() == want })

	// A re-INVITE moves the callee: the old latch is forgotten.
	moved := newPeer(t)
	mustRewrite(t, s, SideB, strings.Replace(audioSDP(moved.port(), ""), "o=- 1 1", "o=- 1 2", 1))
	p5 := rtpPacket(t, 5)
	caller.send(toA, p5)
	moved.expect(p5)
	// The callee's next packet re-latches it.
	p6 := rtpPacket(t, 6)
	callee.send(toB, p6)
	caller.expect(p6)
	p7 := rtpPacket(t, 7)
	caller.send(toA, p7)
	callee.expect(p7)
}

// Nothing is sent while a side's address is unknown.
func TestForwardingNeedsTarget(t *testing.T) {
	r, _ := newTestRelay(t, 2)
	s, _ := r.NewSession("early")
	defer s.Close()
	caller, callee := newPeer(t), newPeer(t)
	toB := relayPort(t, mustRewrite(t, s, SideA, audioSDP(caller.port(), "")))
	toA := fillPort(t, s, SideA)

	caller.send(toA, rtpPacket(t, 1)) // the callee has not answered
	waitFor(t, "drop", func() bool { return s.Stats().Dropped == 1 })

	// Packets from the callee latch it even before its SDP arrives.
	p := rtpPacket(t, 2)
	callee.send(toB, p)
	caller.expect(p)
	p = rtpPacket(t, 3)
	caller.send(toA, p)
	callee.expect(p)
}

func fillPort(t *testing.T, s *Session, side Side) int {
	t.Helper()
	p, err := strconv.Atoi(fill(s, side, "{P0}"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// T.38 over UDPTL is not RTP: it is relayed without the version check.
func TestForwardingUDPTL(t *testing.T) {
	r, _ := newTestRelay(t, 2)
	s, _ := r.NewSession("fax")
	defer s.Close()
	a, b := newPeer(t), newPeer(t)
	fax := func(port int) string {
		return fmt.Sprintf("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=image %d udptl t38\n", port)
	}
	mustRewrite(t, s, SideA, fax(a.port()))
	mustRewrite(t, s, SideB, fax(b.port()))
	udptl := []byte{0x00, 0x00, 0x06, 0x02, 0x00, 0x00}
	a.send(fillPort(t, s, SideA), udptl)
	b.expect(udptl)
}

func TestClassify(t *testing.T) {
	rtpHdr := []byte{0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	cases := []struct {
		name             string
		pkt              []byte
		rtcpSocket       bool
		kind             streamKind
		wantRTCP, wantOK bool
	}{
		{"rtp", rtpHdr, false, kindRTP, false, true},
		{"short rtp", rtpHdr[:8], false, kindRTP, false, false},
		{"version 0", append([]byte{0x00}, rtpHdr[1:]...), false, kindRTP, false, false},
		{"stun", []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0}, false, kindRTP, false, false},
		{"rtcp on rtcp socket", []byte{0x81, 0xc9, 0x00, 0x01}, true, kindRTP, true, true},
		{"muxed rtcp", []byte{0x81, 0xc8, 0x00, 0x06, 0, 0, 0, 1}, false, kindRTP, true, true},
		{"empty", nil, false, kindRTP, false, false},
		{"udptl", []byte{0x00, 0x01}, false, kindRaw, false, true},
		{"empty udptl", nil, false, kindRaw, false, false},
	}
	for _, tc := range cases {
		isRTCP, ok := classify(tc.pkt, tc.rtcpSocket, tc.kind)
		if isRTCP != tc.wantRTCP || ok != tc.wantOK {
			t.Errorf("%s: classify = %v, %v; want %v, %v", tc.name, isRTCP, ok, tc.wantRTCP, tc.wantOK)
		}
	}
}

// Relay.Close ends every live session.
func TestRelayClose(t *testing.T) {
	base := runtime.NumGoroutine()
	r, _ := newTestRelay(t, 8)
	var sessions []*Session
	for i := range 3 {
		s, _ := r.NewSession(fmt.Sprint("live-", i))
		mustRewrite(t, s, SideA, offerPCMU)
		sessions = append(sessions, s)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := r.InUse(); n != 0 {
		t.Errorf("InUse() = %d after Relay.Close", n)
	}
	for _, s := range sessions {
		if _, err := s.Rewrite(SideA, []byte(crlf(offerPCMU))); !errors.Is(err, ErrClosed) {
			t.Errorf("Rewrite on a session of a closed relay: %v", err)
		}
	}
	waitFor(t, "goroutines to stop", func() bool { return runtime.NumGoroutine() <= base })
}

// Sessions opened and closed one after another leak neither ports nor
// goroutines.
func TestNoLeaks(t *testing.T) {
	r, clk := newTestRelay(t, 16)
	caller, callee := newPeer(t), newPeer(t)
	offer, answer := audioSDP(caller.port(), ""), audioSDP(callee.port(), "")
	base := runtime.NumGoroutine()
	for i := range 1000 {
		s, err := r.NewSession(fmt.Sprint("leak-", i))
		if err != nil {
			t.Fatal(err)
		}
		mustRewrite(t, s, SideA, offer)
		mustRewrite(t, s, SideB, answer)
		if i%100 == 0 { // now and then, media too
			p := rtpPacket(t, uint16(i))
			caller.send(fillPort(t, s, SideA), p)
			callee.expect(p)
		}
		s.Close()
		clk.Advance(DefaultQuarantine)
	}
	if n := r.InUse(); n != 0 {
		t.Errorf("InUse() = %d, want 0", n)
	}
	waitFor(t, "goroutines to return to baseline", func() bool { return runtime.NumGoroutine() <= base })
}

// BenchmarkForward measures one packet through the relay, caller to callee,
// including the fake phones' socket calls (which do not allocate).
func BenchmarkForward(b *testing.B) {
	r, _ := newTestRelay(b, 2)
	s, _ := r.NewSession("bench")
	defer s.Close()
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback()})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	caller, callee := conns[0], conns[1]
	if _, err := s.Rewrite(SideA, []byte(audioSDP(caller.LocalAddr().(*net.UDPAddr).Port, ""))); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Rewrite(SideB, []byte(audioSDP(callee.LocalAddr().(*net.UDPAddr).Port, ""))); err != nil {
		b.Fatal(err)
	}
	s.mu.Lock()
	toA := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(s.streams[0].legs[SideA].pair.port))
	s.mu.Unlock()
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	buf := make([]byte, 1500)
	_ = callee.SetReadDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := caller.WriteToUDPAddrPort(pkt, toA); err != nil {
			b.Fatal(err)
		}
		if _, _, err := callee.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
}
