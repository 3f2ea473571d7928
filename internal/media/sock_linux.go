//go:build !mediaportable

package media

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sock is one bound, non-blocking UDP socket of the relay. It is not a
// net.UDPConn: Go's network poller does not watch it; a poller (poller_linux.go)
// does, with its own epoll set, and reads and writes it with raw system
// calls. Its owner closes it: the poller once it is registered, the
// allocator before that.
type sock struct {
	fd     int
	port   int
	v6     bool // AF_INET6: IPv4 peers appear as v4-mapped addresses
	closed bool // guarded by whoever owns the socket (see above)
}

// bindUDP opens a non-blocking UDP socket bound to ip:port. A wildcard IPv6
// address accepts IPv4 too, as net.ListenUDP("udp", ...) does.
func bindUDP(ip netip.Addr, port int) (*sock, error) {
	v6 := !ip.Is4()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, err
	}
	var sa unix.Sockaddr
	if v6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			_ = unix.Close(fd)
			return nil, err
		}
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return &sock{fd: fd, port: port, v6: v6}, nil
}

func (s *sock) close() {
	if !s.closed {
		s.closed = true
		_ = unix.Close(s.fd)
	}
}

// rawSockaddr is a destination in the kernel's format, built without
// allocating.
type rawSockaddr struct {
	buf unix.RawSockaddrInet6 // large enough for either family
	len uint32
}

// set fills a with dst for a socket of the given family; false when an IPv4
// socket cannot reach an IPv6 address.
func (a *rawSockaddr) set(dst netip.AddrPort, v6 bool) bool {
	ip := dst.Addr()
	if !v6 {
		if !ip.Is4() {
			return false
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.buf))
		sa.Family = unix.AF_INET
		putPort(&sa.Port, dst.Port())
		sa.Addr = ip.As4()
		sa.Zero = [8]uint8{}
		a.len = unix.SizeofSockaddrInet4
		return true
	}
	a.buf = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()} // IPv4 becomes v4-mapped
	putPort(&a.buf.Port, dst.Port())
	a.len = unix.SizeofSockaddrInet6
	return true
}

// putPort stores p in network byte order.
func putPort(dst *uint16, p uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(p>>8), byte(p)
}

// addrOfRaw decodes a source address written by the kernel (IPv4-mapped
// addresses unmapped); invalid for an unknown family.
func addrOfRaw(sa *unix.RawSockaddrInet6) netip.AddrPort {
	port := func(p *uint16) uint16 {
		b := (*[2]byte)(unsafe.Pointer(p))
		return uint16(b[0])<<8 | uint16(b[1])
	}
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port(&sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port(&sa.Port))
	}
	return netip.AddrPort{}
}

// The forwarding system calls below never block (the sockets are
// non-blocking, epoll_wait is called with a zero timeout), so they are made
// raw: the goroutine keeps its P, and the scheduler and its monitor thread
// are not involved in every packet as they are for syscall.Syscall.

// recvmmsg reads up to len(msgs) datagrams; 0 and EAGAIN when none is queued.
func recvmmsg(fd int, msgs []unix.Mmsghdr) (int, syscall.Errno) {
	return mmsg(unix.SYS_RECVMMSG, fd, msgs)
}

// sendmmsg sends msgs[i] for i < n; it returns how many the kernel took.
func sendmmsg(fd int, msgs []unix.Mmsghdr) (int, syscall.Errno) {
	return mmsg(unix.SYS_SENDMMSG, fd, msgs)
}

// mmsg is recvmmsg(2) or sendmmsg(2) without waiting.
func mmsg(trap uintptr, fd int, msgs []unix.Mmsghdr) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])),
		uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// sendto sends one datagram.
func sendto(fd int, b []byte, to *rawSockaddr) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&to.buf)), uintptr(to.len))
	return e
}

// epollReady returns the events ready now, without waiting.
func epollReady(epfd int, events []unix.EpollEvent) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])),
		uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}
