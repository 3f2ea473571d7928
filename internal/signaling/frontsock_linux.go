//go:build linux

package signaling

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// frontSock is the UDP front's access to its socket on Linux: recvfrom(2)
// and sendto(2) are made as raw system calls, inside the
// RawConn's Read and Write (which keep the descriptor open meanwhile). None
// of them blocks — Go's sockets are non-blocking, and waiting for a
// datagram is left to the netpoller — so the reader keeps its P, and the
// scheduler and its monitor thread (sysmon) are not involved in each
// datagram as they are for syscall.Syscall: every Go system call wakes
// sysmon when the process was idle, and sysmon then polls every 20 µs
// until the process is idle again — at 1,000 REGISTER/s that was more of
// the server's CPU than the REGISTER handling (docs/performance.md). The
// media relay makes its system calls raw for the same reason
// (internal/media/sock_linux.go).
type frontSock struct {
	rc    syscall.RawConn
	udp   *net.UDPConn
	v6    bool      // an AF_INET6 socket: IPv4 destinations go as v4-mapped
	recvs sync.Pool // *recvOp
	sends sync.Pool // *sendOp
}

func newFrontSock(c *net.UDPConn) *frontSock {
	s := &frontSock{udp: c}
	s.recvs.New, s.sends.New = newRecvOp, newSendOp
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok { // Go's choice of family, if getsockname fails
		s.v6 = la.IP.To4() == nil || la.IP.IsUnspecified()
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return s // recv and send fail as the socket does
	}
	s.rc = rc
	_ = rc.Control(func(fd uintptr) {
		if sa, err := unix.Getsockname(int(fd)); err == nil {
			_, s.v6 = sa.(*unix.SockaddrInet6)
		}
	})
	return s
}

// recv reads one datagram into b, waiting for one in the netpoller when
// none is queued; waited says it did. The leader reader calls it (where
// helpers are not available, every reader: the descriptor's read lock
// queues them, as net.UDPConn readers). Nothing else may take that lock
// (RawConn.Read) between a reader's datagram and its answer: the reader in
// the netpoller holds it until the next datagram comes, so whoever waits
// for it waits for that datagram too — the answer lost by the session-4
// series (a queue check after the read; ADR 0006).
//
// With probe, fill is also how full the socket's receive buffer is, in
// thousandths (SO_MEMINFO: queued bytes against the buffer's size, both as
// the kernel counts them), asked in the same turn as the datagram, holding
// the read lock already; -1 when not asked or not known.
func (s *frontSock) recv(b []byte, probe bool) (n int, from netip.AddrPort, fill int, waited bool, err error) {
	return s.receive(b, probe, true)
}

// tryRecv reads one datagram into b if one is queued, without the
// descriptor's read lock and without waiting: ok false when the socket
// is empty. A helper reader (udpfront.go) reads this way while the
// leader may hold the read lock in the netpoller; the kernel hands each
// datagram to one of them.
func (s *frontSock) tryRecv(b []byte, probe bool) (n int, from netip.AddrPort, fill int, ok bool, err error) {
	n, from, fill, empty, err := s.receive(b, probe, false)
	return n, from, fill, err == nil && !empty, err
}

// receive is recv (wait: inside RawConn.Read) and tryRecv (inside
// RawConn.Control, one recvfrom); empty: the socket was found empty at
// least once (recv waited; tryRecv read nothing).
func (s *frontSock) receive(b []byte, probe, wait bool) (n int, from netip.AddrPort, fill int, empty bool, err error) {
	if s.rc == nil {
		return 0, netip.AddrPort{}, -1, false, net.ErrClosed
	}
	op := s.recvs.Get().(*recvOp)
	op.b, op.probe, op.fill, op.n, op.errno, op.empty = b, probe, -1, 0, 0, false
	if wait {
		err = s.rc.Read(op.fn)
	} else {
		err = s.rc.Control(op.ctl)
	}
	n, from, fill, errno, empty := op.n, op.from, op.fill, op.errno, op.empty
	op.b = nil
	s.recvs.Put(op)
	switch {
	case err != nil:
		return 0, netip.AddrPort{}, -1, false, err
	case !wait && empty:
		return 0, netip.AddrPort{}, -1, true, nil
	case errno != 0:
		return 0, netip.AddrPort{}, -1, false, &net.OpError{Op: "read", Net: "udp", Source: s.udp.LocalAddr(), Err: errno}
	}
	return n, from, fill, empty, nil
}

// recvOp is one recv's state, pooled with the function RawConn.Read calls
// bound to it once: a closure over recv's variables would escape and cost
// three allocations per datagram.
type recvOp struct {
	b     []byte
	probe bool
	n     int
	from  netip.AddrPort
	fill  int
	errno syscall.Errno
	empty bool // recvfrom found the socket empty (EAGAIN) at least once
	sa    unix.RawSockaddrAny
	fn    func(fd uintptr) bool // for RawConn.Read: op.read
	ctl   func(fd uintptr)      // for RawConn.Control: op.read, once
}

func newRecvOp() any {
	op := &recvOp{}
	op.fn = op.read
	op.ctl = func(fd uintptr) { op.read(fd) }
	return op
}

// read is recvfrom(2) on fd; false (wait in the netpoller) when nothing is
// queued.
func (op *recvOp) read(fd uintptr) bool {
	for {
		salen := uint32(unix.SizeofSockaddrAny)
		r, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&op.b[0])), uintptr(len(op.b)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&op.sa)), uintptr(unsafe.Pointer(&salen)))
		if e == unix.EINTR {
			continue
		}
		if e == unix.EAGAIN {
			op.empty = true
			return false
		}
		op.n, op.errno = int(r), e
		if e == 0 {
			op.from = rawAddrPort(&op.sa)
			if op.probe {
				op.fill = bufferFill(fd)
			}
		}
		return true
	}
}

// bufferFill is how full fd's receive buffer is, in thousandths; -1 when
// the kernel does not say (SO_MEMINFO, Linux 3.9).
func bufferFill(fd uintptr) int {
	var mem [unix.SK_MEMINFO_VARS]uint32
	size := uint32(unsafe.Sizeof(mem))
	_, _, e := syscall.RawSyscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 || mem[unix.SK_MEMINFO_RCVBUF] == 0 {
		return -1
	}
	return int(uint64(mem[unix.SK_MEMINFO_RMEM_ALLOC]) * 1000 / uint64(mem[unix.SK_MEMINFO_RCVBUF]))
}

// send writes b to to; when the send buffer is full it waits in the
// netpoller, as net.UDPConn's WriteTo does. The sendto is made inside
// RawConn.Control, which keeps the descriptor open but takes none of its
// locks: a datagram is sent whole by one system call, so senders need no
// turns, and inside RawConn.Write the readers answering at once (the
// leader and a helper, a timer's retransmission) queued on the
// descriptor's write lock — a goroutine parked and woken per collision,
// the largest single cause of wake-ups at 3,000 calls/s (perf, session
// 12). Only a send that finds the buffer full goes through
// RawConn.Write, to wait.
func (s *frontSock) send(b []byte, to netip.AddrPort) error {
	if s.rc == nil {
		return net.ErrClosed
	}
	op := s.sends.Get().(*sendOp)
	salen, ok := s.sockaddr(&op.sa, to)
	if !ok {
		s.sends.Put(op)
		return &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: unix.EAFNOSUPPORT}
	}
	op.b, op.salen, op.errno, op.full = b, salen, 0, false
	err := s.rc.Control(op.ctl)
	if err == nil && op.full {
		err = s.rc.Write(op.fn)
	}
	errno := op.errno
	op.b = nil
	s.sends.Put(op)
	if err != nil {
		return err
	}
	if errno != 0 {
		return &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: errno}
	}
	return nil
}

// sendOp is one send's state, pooled as recvOp is.
type sendOp struct {
	b     []byte
	sa    [unix.SizeofSockaddrInet6]byte
	salen int
	errno syscall.Errno
	full  bool                  // the send buffer was full (EAGAIN)
	fn    func(fd uintptr) bool // for RawConn.Write: op.write
	ctl   func(fd uintptr)      // for RawConn.Control: op.write, once
}

func newSendOp() any {
	op := &sendOp{}
	op.fn = op.write
	op.ctl = func(fd uintptr) { op.full = !op.write(fd) }
	return op
}

// write is sendto(2) on fd; false (wait in the netpoller) when the send
// buffer is full.
func (op *sendOp) write(fd uintptr) bool {
	for {
		_, _, op.errno = syscall.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(op.b))),
			uintptr(len(op.b)), unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&op.sa[0])), uintptr(op.salen))
		if op.errno != unix.EINTR {
			return op.errno != unix.EAGAIN
		}
	}
}

// sockaddr writes to as the socket's kind of address into buf.
func (s *frontSock) sockaddr(buf *[unix.SizeofSockaddrInet6]byte, to netip.AddrPort) (int, bool) {
	a := to.Addr()
	port := to.Port()
	if !s.v6 {
		if !a.Unmap().Is4() {
			return 0, false
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(buf))
		sa.Family = unix.AF_INET
		putPort(&sa.Port, port)
		sa.Addr = a.Unmap().As4()
		return unix.SizeofSockaddrInet4, true
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(buf))
	sa.Family = unix.AF_INET6
	putPort(&sa.Port, port)
	sa.Addr = a.As16() // an IPv4 address becomes v4-mapped
	if z := a.Zone(); z != "" {
		if id, err := strconv.ParseUint(z, 10, 32); err == nil {
			sa.Scope_id = uint32(id)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa.Scope_id = uint32(ifi.Index)
		}
	}
	return unix.SizeofSockaddrInet6, true
}

// putPort stores p in network byte order.
func putPort(dst *uint16, p uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(p>>8), byte(p)
}

// rawAddrPort converts the source address recvfrom filled in, as
// net.UDPConn's ReadFromUDPAddrPort does (an AF_INET6 socket reports IPv4
// peers v4-mapped), except that the zone of a link-local peer is its
// interface index, not its name (no lookup per datagram; send takes both).
func rawAddrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	port := func(p *uint16) uint16 {
		b := (*[2]byte)(unsafe.Pointer(p))
		return uint16(b[0])<<8 | uint16(b[1])
	}
	switch sa.Addr.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port(&sa4.Port))
	case unix.AF_INET6:
		sa6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		a := netip.AddrFrom16(sa6.Addr)
		if sa6.Scope_id != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(sa6.Scope_id), 10))
		}
		return netip.AddrPortFrom(a, port(&sa6.Port))
	}
	return netip.AddrPort{}
}

// sockHelpers: readers beyond the first are helpers that read with tryRecv
// while the first falls behind (udpfront.go).
const sockHelpers = true
