package media

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxPacket is the size of a read buffer of the pollers. A datagram that
// fills it was probably truncated and is dropped.
const maxPacket = 2048

// Stats are a session's forwarding counters. Packets and Bytes count RTP
// (and UDPTL) datagrams forwarded; RTCP is counted apart. Dropped counts
// datagrams not forwarded: not RTP/RTCP, no target known yet, or a send error.
type Stats struct {
	PacketsAtoB, PacketsBtoA         uint64
	BytesAtoB, BytesBtoA             uint64
	RTCPPacketsAtoB, RTCPPacketsBtoA uint64
	Dropped                          uint64
}

// Session is one call's relay: for each m= line of the call's SDP it owns one
// RTP/RTCP port pair on side A and one on side B.
type Session struct {
	id    string
	relay *Relay
	log   *slog.Logger
	ctr   counters

	held [2]atomic.Bool // by side: its latest SDP put the call on hold

	mu      sync.Mutex // serialises Rewrite and Close
	closed  bool
	streams []*stream // by m= line index; nil for a disabled line
}

type counters struct {
	from    [2]dirCounters // by the side the packet arrived from
	dropped atomic.Uint64
}

type dirCounters struct {
	pkts, bytes, rtcpPkts atomic.Uint64
}

type streamKind int

const (
	kindNone streamKind = iota // not relayed (TCP based)
	kindRTP                    // RTP/AVP, RTP/SAVP, RTP/AVPF, UDP/TLS/RTP/SAVPF…
	kindRaw                    // UDPTL (T.38) and other plain UDP: no RTP check
)

// stream is the relay of one m= line: two legs, whose four sockets one
// poller reads.
type stream struct {
	kind   streamKind
	legs   [2]leg // by Side
	poller *poller
}

type leg struct {
	pair *pair
	rtp  endpoint
	rtcp endpoint
}

// endpoint is one relay socket: it receives from the party on its side and
// sends to it what arrives on its peer, the same socket on the other side.
type endpoint struct {
	s    *Session
	side Side
	rtcp bool
	kind streamKind
	sock *sock
	peer *endpoint
	slot int32                          // in the poller; -1 when not registered (poller's mu)
	sdp  atomic.Pointer[netip.AddrPort] // where the party's SDP says it listens
	seen atomic.Pointer[netip.AddrPort] // last source seen: the latch
}

// target is where packets for this endpoint's party go: the latched source,
// else the SDP address.
func (e *endpoint) target() (netip.AddrPort, bool) {
	if p := e.seen.Load(); p != nil {
		return *p, true
	}
	if p := e.sdp.Load(); p != nil {
		return *p, true
	}
	return netip.AddrPort{}, false
}

// latch records src as the party's address and reports a change.
func (e *endpoint) latch(src netip.AddrPort) bool {
	if p := e.seen.Load(); p != nil && *p == src {
		return false
	}
	v := src // only a change allocates
	e.seen.Store(&v)
	return true
}

// setSDP records the address from the party's latest SDP (invalid: unknown).
// When it moves, the latch is forgotten: the party may now be elsewhere.
func (e *endpoint) setSDP(t netip.AddrPort) {
	old := e.sdp.Load()
	if (old == nil && !t.IsValid()) || (old != nil && *old == t) {
		return
	}
	if t.IsValid() {
		e.sdp.Store(&t)
	} else {
		e.sdp.Store(nil)
	}
	if old != nil {
		e.seen.Store(nil)
	}
}

// Rewrite takes an SDP body (offer or answer, initial or re-INVITE) received
// from the party on side from, learns that party's media addresses, takes
// port pairs for new m= lines, and returns the SDP to send to the other
// party, pointing at the relay. Errors wrap ErrBadSDP, ErrNoPorts or
// ErrClosed; on error the session is unchanged.
func (s *Session) Rewrite(from Side, sdp []byte) ([]byte, error) {
	if from != SideA && from != SideB {
		return nil, fmt.Errorf("media: rewrite from unknown side %d", int(from))
	}
	d, err := parseSDP(sdp)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}

	// Take every new pair first, so that running out changes nothing.
	fresh := make([]*stream, len(d.media))
	for i := range d.media {
		if m := &d.media[i]; m.relayed() && s.stream(i) == nil {
			st, err := s.newStream(m.kind())
			if err != nil {
				for _, st := range fresh {
					if st != nil {
						s.discardStream(st)
					}
				}
				return nil, err
			}
			fresh[i] = st
		}
	}

	if len(s.streams) < len(d.media) {
		s.streams = append(s.streams, make([]*stream, len(d.media)-len(s.streams))...)
	}
	for i := range d.media {
		m := &d.media[i]
		if !m.relayed() {
			if st := s.streams[i]; st != nil {
				s.stopStream(st)
				s.streams[i] = nil
				s.log.Debug("media: stream disabled", "m", i, "side", from)
			}
			continue
		}
		st := s.streams[i]
		if st == nil {
			st = fresh[i]
			s.streams[i] = st
			s.log.Debug("media: stream relayed", "m", i,
				"port_a", st.legs[SideA].pair.port, "port_b", st.legs[SideB].pair.port)
		}
		rtp, rtcp := m.targets(d.sessConn)
		st.legs[from].rtp.setSDP(rtp)
		st.legs[from].rtcp.setSDP(rtcp)
	}

	s.held[from].Store(d.held())
	to := from.other()
	return d.render(s.relay.adv, func(i int) int {
		if st := s.stream(i); st != nil && d.media[i].relayed() {
			return st.legs[to].pair.port
		}
		return 0
	}), nil
}

// Stats returns the forwarding counters so far.
func (s *Session) Stats() Stats {
	a, b := &s.ctr.from[SideA], &s.ctr.from[SideB]
	return Stats{
		PacketsAtoB:     a.pkts.Load(),
		PacketsBtoA:     b.pkts.Load(),
		BytesAtoB:       a.bytes.Load(),
		BytesBtoA:       b.bytes.Load(),
		RTCPPacketsAtoB: a.rtcpPkts.Load(),
		RTCPPacketsBtoA: b.rtcpPkts.Load(),
		Dropped:         s.ctr.dropped.Load(),
	}
}

// RTPPackets is the number of RTP packets relayed so far, both directions
// (RTCP not counted): call control watches it for media inactivity.
func (s *Session) RTPPackets() uint64 {
	return s.ctr.from[SideA].pkts.Load() + s.ctr.from[SideB].pkts.Load()
}

// Held reports whether either party's latest SDP put the call on hold
// (sendonly, recvonly, inactive or c=0.0.0.0 on every relayed stream).
func (s *Session) Held() bool { return s.held[SideA].Load() || s.held[SideB].Load() }

// Close stops forwarding, closes the sockets and puts the ports into
// quarantine. It may be called more than once; it returns when all of the
// session's goroutines have stopped.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, st := range s.streams {
		if st != nil {
			s.stopStream(st)
		}
	}
	s.streams = nil
	s.relay.forget(s)
	s.log.Debug("media: session closed", "stats", s.Stats())
}

func (s *Session) stream(i int) *stream {
	if i < len(s.streams) {
		return s.streams[i]
	}
	return nil
}

// newStream takes two port pairs and has the least loaded poller read their
// sockets. Until the SDP gives a target, what arrives is dropped.
func (s *Session) newStream(k streamKind) (*stream, error) {
	a, err := s.relay.ports.alloc()
	if err != nil {
		return nil, err
	}
	b, err := s.relay.ports.alloc()
	if err != nil {
		s.relay.ports.release(a, false)
		return nil, err
	}
	st := &stream{kind: k, poller: s.relay.pick()}
	for side, p := range [2]*pair{a, b} {
		l := &st.legs[side]
		l.pair = p
		l.rtp = endpoint{s: s, side: Side(side), kind: k, sock: p.rtp, slot: -1}
		l.rtcp = endpoint{s: s, side: Side(side), rtcp: true, kind: k, sock: p.rtcp, slot: -1}
	}
	for side := range st.legs {
		other := &st.legs[1-side]
		st.legs[side].rtp.peer = &other.rtp
		st.legs[side].rtcp.peer = &other.rtcp
	}
	if err := st.poller.add(st.endpoints()...); err != nil {
		s.releaseStream(st, false)
		return nil, err
	}
	return st, nil
}

// socketsPerStream: an RTP/RTCP pair on each side.
const socketsPerStream = 4

func (st *stream) endpoints() []*endpoint {
	a, b := &st.legs[SideA], &st.legs[SideB]
	return []*endpoint{&a.rtp, &a.rtcp, &b.rtp, &b.rtcp}
}

// stopStream stops reading the stream's sockets, closes them and
// quarantines the ports.
func (s *Session) stopStream(st *stream) {
	st.poller.remove(st.endpoints()...)
	// Quarantine keeps late packets of this call away from the next one;
	// pairs that never received a packet have nothing late to keep away
	// (a call that was never answered, a re-offer) and are free at once,
	// so the port range does not cap the call rate.
	s.releaseStream(st, s.sawTraffic())
}

// discardStream undoes newStream for a stream that was never used.
func (s *Session) discardStream(st *stream) {
	st.poller.remove(st.endpoints()...)
	s.releaseStream(st, false)
}

// sawTraffic reports whether any packet reached the session's sockets.
func (s *Session) sawTraffic() bool {
	st := s.Stats()
	return st.PacketsAtoB+st.PacketsBtoA+st.RTCPPacketsAtoB+st.RTCPPacketsBtoA+st.Dropped > 0
}

// releaseStream gives the stream's pairs back (closing what is still open);
// quarantine unless they were never used.
func (s *Session) releaseStream(st *stream, quarantine bool) {
	for i := range st.legs {
		s.relay.ports.release(st.legs[i].pair, quarantine)
	}
}

// classify decides whether pkt may be forwarded and whether it is RTCP.
// RTP and RTCP both start with version 2 in the top bits. On an RTP socket,
// payload types 64-95 (with the marker bit: 192-223) are RTCP multiplexed
// per RFC 5761.
func classify(pkt []byte, rtcpSocket bool, kind streamKind) (isRTCP, ok bool) {
	if kind == kindRaw {
		return rtcpSocket, len(pkt) > 0
	}
	if len(pkt) < 4 || pkt[0]>>6 != 2 {
		return false, false
	}
	if rtcpSocket {
		return true, true
	}
	if pt := pkt[1] & 0x7f; pt >= 64 && pt <= 95 {
		return true, true
	}
	return false, len(pkt) >= 12
}
