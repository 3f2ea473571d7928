//go:build !linux

package signaling

import (
	"net"
	"net/netip"
)

// frontSock is the UDP front's access to its socket where raw system calls
// are not used (see frontsock_linux.go): net.UDPConn's own methods.
type frontSock struct{ udp *net.UDPConn }

func newFrontSock(c *net.UDPConn) *frontSock { return &frontSock{udp: c} }

// recv reads one datagram; how full the buffer is stays unknown (-1), and
// whether the reader waited for it too (true: no helper is ever called).
func (s *frontSock) recv(b []byte, _ bool) (int, netip.AddrPort, int, bool, error) {
	n, from, err := s.udp.ReadFromUDPAddrPort(b)
	return n, from, -1, true, err
}

// tryRecv is not available here: every reader is a leader (udpfront.go).
func (s *frontSock) tryRecv([]byte, bool) (int, netip.AddrPort, int, bool, error) {
	return 0, netip.AddrPort{}, -1, false, nil
}

const sockHelpers = false // readers beyond the first wait at the socket as well

func (s *frontSock) send(b []byte, to netip.AddrPort) error {
	_, err := s.udp.WriteToUDPAddrPort(b, to)
	return err
}
