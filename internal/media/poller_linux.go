//go:build !mediaportable

package media

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// batch is how many datagrams one recvmmsg takes from a socket. At
	// G.711 rates a socket rarely holds more than one; a read that returns
	// fewer than batch has emptied the socket, so no extra read is spent
	// to learn that (edge-triggered epoll reports the next arrival).
	batch = 8
	// maxEvents is how many ready sockets one epoll_wait returns.
	maxEvents = 128
)

// poller forwards the packets of the sockets registered with it: one epoll
// set (edge-triggered), one goroutine. The goroutine does not block in
// epoll_wait: Go's network poller watches the epoll descriptor itself and
// wakes the goroutine when any of its sockets has data; the goroutine then
// takes every ready socket in one epoll_wait, reads each with recvmmsg and
// sends with sendto (sendmmsg when a read returned several), all with raw
// system calls, and parks again. So a burst of packets on many sockets costs
// one goroutine wake-up, and a packet costs two system calls.
//
// mu is held while a round runs; add and remove take it too, so a socket is
// closed only between rounds and no event of a closed (maybe reused)
// descriptor is ever acted on.
type poller struct {
	epfd int
	file *os.File // epfd, for Go's network poller
	done chan struct{}

	pollerBase[*endpoint] // slots: the number the epoll event carries

	// Buffers of the goroutine, used under mu.
	events [maxEvents]unix.EpollEvent
	in     [batch]unix.Mmsghdr
	inIov  [batch]unix.Iovec
	inName [batch]unix.RawSockaddrInet6
	bufs   [batch][maxPacket]byte
	out    [batch]unix.Mmsghdr
	outIov [batch]unix.Iovec
	to     rawSockaddr
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	// Non-blocking, so that os.NewFile hands it to Go's network poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	p := &poller{epfd: epfd, file: os.NewFile(uintptr(epfd), "media-epoll"), done: make(chan struct{})}
	for i := range p.in {
		p.inIov[i] = unix.Iovec{Base: &p.bufs[i][0]}
		p.inIov[i].SetLen(maxPacket)
		p.in[i].Hdr.Iov = &p.inIov[i]
		p.in[i].Hdr.SetIovlen(1)
		p.in[i].Hdr.Name = (*byte)(unsafe.Pointer(&p.inName[i]))
		p.out[i].Hdr.Iov = &p.outIov[i]
		p.out[i].Hdr.SetIovlen(1)
		p.out[i].Hdr.Name = (*byte)(unsafe.Pointer(&p.to.buf))
	}
	rc, err := p.file.SyscallConn()
	if err != nil {
		_ = p.file.Close()
		return nil, fmt.Errorf("media: epoll: %w", err)
	}
	go p.run(rc)
	return p, nil
}

// run parks in Go's network poller until the epoll set has ready sockets,
// forwards, and parks again, until stop closes the descriptor.
func (p *poller) run(rc syscall.RawConn) {
	defer close(p.done)
	for {
		if err := rc.Read(p.round); err != nil {
			return // closed by stop
		}
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if stopping {
			return
		}
	}
}

// round forwards from every socket that is ready; true ends run. It returns
// false, to wait for the next readiness, once epoll_wait returned fewer
// events than it could take: every ready socket was then drained, and any
// later packet makes the epoll descriptor readable again.
func (p *poller) round(uintptr) bool {
	for {
		p.mu.Lock()
		if p.stopping {
			p.mu.Unlock()
			return true
		}
		n, errno := epollReady(p.epfd, p.events[:])
		if errno == unix.EINTR {
			p.mu.Unlock()
			continue
		}
		for i := range n {
			if e := p.slots.get(p.events[i].Fd); e != nil {
				p.drain(e)
			}
		}
		p.mu.Unlock()
		if errno != 0 || n < len(p.events) {
			return false
		}
	}
}

// add registers the four sockets of a stream. They are read from now on.
func (p *poller) add(eps ...*endpoint) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return ErrClosed
	}
	for i, e := range eps {
		slot := p.slots.take(e)
		e.slot = slot
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: slot}
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, e.sock.fd, &ev); err != nil {
			p.slots.release(slot)
			p.removeLocked(eps[:i]...)
			return fmt.Errorf("media: epoll add: %w", err)
		}
		p.count++
	}
	return nil
}

// remove stops reading the sockets and closes them. When it returns, the
// poller's goroutine will not touch them again.
func (p *poller) remove(eps ...*endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(eps...)
}

func (p *poller) removeLocked(eps ...*endpoint) {
	for _, e := range eps {
		if e.slot < 0 {
			continue
		}
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, e.sock.fd, nil)
		e.sock.close()
		p.slots.release(e.slot)
		e.slot = -1
		p.count--
	}
}

// stop ends the goroutine and closes the epoll descriptor. Sessions are
// closed first, so no socket is registered any more.
func (p *poller) stop() {
	p.beginStop()
	_ = p.file.Close() // wakes run out of Go's network poller
	<-p.done
}

// drain reads e's socket until it is empty and forwards what it reads out
// of e's peer. Called with mu held.
func (p *poller) drain(e *endpoint) {
	for {
		for i := range p.in {
			p.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
			p.in[i].Hdr.Flags = 0
		}
		n, errno := recvmmsg(e.sock.fd, p.in[:])
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			if errno != unix.EAGAIN {
				// Unconnected UDP sockets report no ICMP errors; anything
				// else (e.g. no buffer space) is transient.
				e.s.ctr.dropped.Add(1)
			}
			return
		}
		p.forward(e, n)
		if n < len(p.in) {
			return
		}
	}
}

// forward checks, latches and sends the n datagrams just read on e. They
// all go to the same target: only packets on the peer's socket, which this
// goroutine reads too, or a new SDP move it.
func (p *poller) forward(in *endpoint, n int) {
	s, out := in.s, in.peer
	target, haveTarget := out.target()
	haveTarget = haveTarget && p.to.set(target, out.sock.v6)
	k := 0 // datagrams queued in p.out
	var pkts, rtcp, bytes uint64
	for i := range n {
		m := &p.in[i]
		size := int(m.Len)
		pkt := p.bufs[i][:size]
		isRTCP, ok := classify(pkt, in.rtcp, in.kind)
		if !ok || size == maxPacket || m.Hdr.Flags&unix.MSG_TRUNC != 0 {
			s.ctr.dropped.Add(1)
			continue
		}
		if src := addrOfRaw(&p.inName[i]); src.IsValid() && in.latch(src) {
			s.log.Debug("media: latched", "side", in.side, "rtcp", in.rtcp, "addr", src)
		}
		if !haveTarget {
			s.ctr.dropped.Add(1)
			continue
		}
		p.outIov[k].Base = &p.bufs[i][0]
		p.outIov[k].SetLen(size)
		k++
		if isRTCP {
			rtcp++
		} else {
			pkts++
			bytes += uint64(size)
		}
	}
	if sent := p.send(out.sock.fd, k); sent < k {
		// What the kernel refused is lost: count it as dropped and
		// recount what went.
		s.ctr.dropped.Add(uint64(k - sent))
		pkts, rtcp, bytes = 0, 0, 0
		for i := range sent {
			if isRTCP, _ := classify(unsafe.Slice(p.outIov[i].Base, p.outIov[i].Len), in.rtcp, in.kind); isRTCP {
				rtcp++
			} else {
				pkts++
				bytes += p.outIov[i].Len
			}
		}
	}
	ctr := &s.ctr.from[in.side]
	if pkts > 0 {
		ctr.pkts.Add(pkts)
		ctr.bytes.Add(bytes)
	}
	if rtcp > 0 {
		ctr.rtcpPkts.Add(rtcp)
	}
}

// send writes the first k datagrams of p.out to p.to; it returns how many
// the kernel took.
func (p *poller) send(fd, k int) int {
	if k == 0 {
		return 0
	}
	if k == 1 {
		b := unsafe.Slice(p.outIov[0].Base, p.outIov[0].Len)
		for {
			switch errno := sendto(fd, b, &p.to); errno {
			case 0:
				return 1
			case unix.EINTR:
				continue
			default:
				return 0
			}
		}
	}
	for i := range k {
		p.out[i].Hdr.Namelen = p.to.len
	}
	sent := 0
	for sent < k {
		n, errno := sendmmsg(fd, p.out[sent:k])
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 || n == 0 {
			break
		}
		sent += n
	}
	return sent
}
