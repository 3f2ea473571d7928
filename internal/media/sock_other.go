//go:build !linux || mediaportable

package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
)

// sock is one bound UDP socket of the relay: on this platform (or with the
// mediaportable build tag) a net.UDPConn that Go's network poller watches,
// read by one goroutine of a poller (poller_other.go). Its owner closes it:
// the poller once it is registered, the allocator before that.
type sock struct {
	conn   *net.UDPConn
	port   int
	closed bool // guarded by whoever owns the socket (see above)
}

// bindUDP opens a UDP socket bound to ip:port. A wildcard IPv6 address
// accepts IPv4 too (network "udp"); an IPv4 address gives an IPv4 socket.
func bindUDP(ip netip.Addr, port int) (*sock, error) {
	network := "udp"
	if ip.Is4() {
		network = "udp4"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return nil, addrInUse(err)
	}
	return &sock{conn: c, port: port}, nil
}

// wsaeaddrinuse is Winsock's "address already in use". Go's
// syscall.EADDRINUSE on Windows is an invented value that no bind returns.
const wsaeaddrinuse = syscall.Errno(10048)

// addrInUse makes a bind error that says the port is taken match
// syscall.EADDRINUSE on every platform, so that the allocator skips the port
// instead of failing the call.
func addrInUse(err error) error {
	if runtime.GOOS == "windows" && errors.Is(err, wsaeaddrinuse) && !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w (%w)", syscall.EADDRINUSE, err)
	}
	return err
}

func (s *sock) close() {
	if !s.closed {
		s.closed = true
		_ = s.conn.Close()
	}
}
