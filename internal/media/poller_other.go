//go:build !linux || mediaportable

package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// poller is the portable forwarder, used where epoll is not (and on Linux
// with the mediaportable build tag, so that the tests exercise it): one
// goroutine per registered socket, blocked in ReadFromUDPAddrPort on Go's
// network poller, forwarding each datagram as it arrives out of the peer
// socket with WriteToUDPAddrPort. It is the relay as it was before the epoll
// pollers (one wake-up and two system calls a packet, plus the read that
// finds the socket empty) and keeps their bookkeeping: streams go to the
// poller with room (Relay.pick), load counts its sockets.
//
// mu guards the registrations. remove closes the sockets and waits for
// their goroutines, so that when it returns nothing reads, writes or counts
// for them any more (the session's quarantine decision reads the counters).
type poller struct {
	pollerBase[chan struct{}] // slots: a channel closed when the socket's goroutine ends
	wg                        sync.WaitGroup
}

func newPoller() (*poller, error) { return &poller{}, nil }

// add registers the four sockets of a stream and starts reading them.
func (p *poller) add(eps ...*endpoint) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return ErrClosed
	}
	for _, e := range eps {
		done := make(chan struct{})
		slot := p.slots.take(done)
		e.slot = slot
		p.count++
		p.wg.Go(func() {
			defer close(done)
			forward(e)
		})
	}
	return nil
}

// remove closes the sockets, which ends their goroutines, and waits for
// them.
func (p *poller) remove(eps ...*endpoint) {
	var wait []chan struct{}
	p.mu.Lock()
	for _, e := range eps {
		if e.slot < 0 {
			continue
		}
		e.sock.close()
		wait = append(wait, p.slots.release(e.slot))
		e.slot = -1
		p.count--
	}
	p.mu.Unlock()
	for _, done := range wait {
		<-done
	}
}

// stop refuses new sockets and waits for the goroutines. Sessions are
// closed first, so no socket is registered any more.
func (p *poller) stop() {
	p.beginStop()
	p.wg.Wait()
}

// forward is the loop of one socket: read, check, latch, send out of the
// peer, until the socket is closed.
func forward(in *endpoint) {
	s, out := in.s, in.peer
	ctr := &s.ctr.from[in.side]
	buf := make([]byte, maxPacket)
	for {
		n, src, err := in.sock.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Unconnected UDP sockets report no ICMP errors (Windows
			// may: WSAECONNRESET); anything else is transient (e.g. no
			// buffer space, or a datagram larger than buf). Keep serving.
			s.ctr.dropped.Add(1)
			continue
		}
		pkt := buf[:n]
		isRTCP, ok := classify(pkt, in.rtcp, in.kind)
		if !ok || n == len(buf) {
			s.ctr.dropped.Add(1)
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if in.latch(src) {
			s.log.Debug("media: latched", "side", in.side, "rtcp", in.rtcp, "addr", src)
		}
		dst, ok := out.target()
		if !ok {
			s.ctr.dropped.Add(1)
			continue
		}
		// An IPv6 target on an IPv4 socket fails here and is dropped, as
		// on Linux; so does a send on a peer socket that remove closed.
		if _, err := out.sock.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			s.ctr.dropped.Add(1)
			continue
		}
		if isRTCP {
			ctr.rtcpPkts.Add(1)
		} else {
			ctr.pkts.Add(1)
			ctr.bytes.Add(uint64(n))
		}
	}
}
