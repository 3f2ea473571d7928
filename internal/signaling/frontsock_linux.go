//go:build linux

package signaling

import (
	"net"
	"net/netip"
	"strconv"
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
	rc  syscall.RawConn
	udp *net.UDPConn
	v6  bool // an AF_INET6 socket: IPv4 destinations go as v4-mapped
}

func newFrontSock(c *net.UDPConn) *frontSock {
	s := &frontSock{udp: c}
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
// none is queued. Every reader calls it, as net.UDPConn readers would: the
// descriptor's read lock queues them. Nothing else may take that lock
// (RawConn.Read) between a reader's datagram and its answer: the reader in
// the netpoller holds it until the next datagram comes, so whoever waits
// for it waits for that datagram too — the answer lost by the session-4
// series (a queue check after the read; ADR 0006).
//
// With probe, fill is also how full the socket's receive buffer is, in
// thousandths (SO_MEMINFO: queued bytes against the buffer's size, both as
// the kernel counts them), asked in the same turn as the datagram, holding
// the read lock already; -1 when not asked or not known.
func (s *frontSock) recv(b []byte, probe bool) (n int, from netip.AddrPort, fill int, err error) {
	var errno syscall.Errno
	fill = -1
	if s.rc == nil {
		return 0, netip.AddrPort{}, fill, net.ErrClosed
	}
	err = s.rc.Read(func(fd uintptr) bool {
		for {
			var sa unix.RawSockaddrAny
			salen := uint32(unix.SizeofSockaddrAny)
			r, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
				unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)))
			if e == unix.EINTR {
				continue
			}
			if e == unix.EAGAIN {
				return false // wait in the netpoller
			}
			n, errno = int(r), e
			if e == 0 {
				from = rawAddrPort(&sa)
				if probe {
					fill = bufferFill(fd)
				}
			}
			return true
		}
	})
	switch {
	case err != nil:
		return 0, netip.AddrPort{}, -1, err
	case errno != 0:
		return 0, netip.AddrPort{}, -1, &net.OpError{Op: "read", Net: "udp", Source: s.udp.LocalAddr(), Err: errno}
	}
	return n, from, fill, nil
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
// netpoller, as net.UDPConn's WriteTo does.
func (s *frontSock) send(b []byte, to netip.AddrPort) error {
	var sa [unix.SizeofSockaddrInet6]byte
	salen, ok := s.sockaddr(&sa, to)
	if !ok {
		return &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: unix.EAFNOSUPPORT}
	}
	if s.rc == nil {
		return net.ErrClosed
	}
	var errno syscall.Errno
	err := s.rc.Write(func(fd uintptr) bool {
		for {
			_, _, errno = syscall.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))),
				uintptr(len(b)), unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa[0])), uintptr(salen))
			if errno != unix.EINTR {
				return errno != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: errno}
	}
	return nil
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
