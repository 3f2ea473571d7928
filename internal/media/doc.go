// Package media is the RTP relay of the B2BUA: it anchors every call's media
// on the PBX so that the two parties only ever see the PBX's address.
//
// A Relay owns a UDP port range. Each call gets a Session; for every m= line
// of the call's SDP the session owns one RTP/RTCP port pair facing the caller
// (SideA) and one facing the callee (SideB). Session.Rewrite learns a party's
// media address from the SDP it sent and returns the SDP to hand to the other
// party, pointing at the relay.
//
// Forwarding (Linux: epoll): the relay's sockets are raw non-blocking UDP
// sockets outside Go's network poller. A few pollers (one per P at most;
// each takes pollerStreams streams before the next is used) each own an
// edge-triggered epoll set and one goroutine, which Go's network poller
// wakes when the set has ready sockets. The goroutine reads every ready
// socket with recvmmsg into reusable buffers and writes the raw bytes,
// unchanged, out of the paired socket on the other side (sendto, or
// sendmmsg for several), with raw system calls: no allocation, no extra
// read to find a socket empty, no goroutine wake-up per packet.
//
// Platforms: the epoll forwarder (poller_linux.go, sock_linux.go) is built on
// Linux. Elsewhere (macOS, Windows, the BSDs), and on Linux with the
// mediaportable build tag, poller_other.go and sock_other.go provide the same
// internal interface (bindUDP, sock, poller: add, remove, load, stop) over
// net.UDPConn and Go's network poller: one goroutine per socket reads it and
// writes each datagram out of the peer socket, as the relay did before the
// pollers (BenchmarkForward measured 27 µs a packet for that design against
// 19 for the pollers, on Linux, in a621499). Behaviour is the same on both:
// latching, targets, RTCP, UDPTL, hold, counters, quarantine; Config.Workers
// only groups the streams there. `go test -tags mediaportable
// ./internal/media` runs the package's tests on the fallback (the tests of
// the epoll internals are Linux-only).
//
// Packets whose first byte does not say RTP version 2 are dropped (except on
// UDPTL streams, which are relayed as they are). The target for a side is the
// last source address seen on that side's socket (symmetric RTP latching, so
// parties behind NAT work), else the address from that side's SDP; nothing is
// sent before one of them is known. A re-INVITE that moves a party's SDP
// address forgets the latch.
//
// Ports: pairs (RTP even, RTCP = RTP+1) are handed out round robin from a
// random start, ports another process holds are skipped, and a released pair
// is quarantined so late packets of an old call never reach a new one.
//
// SDP is rewritten line by line rather than through a full SDP model
// (pion/sdp): only o=, c=, m= ports, a=rtcp and ICE lines change, everything
// else (codecs, fmtp, direction, unknown attributes, line order) passes
// through byte for byte, and the quirky SDP real phones send is not rejected
// for being out of canonical order.
//
// Lock order: Session.mu, then a poller's mu, then Relay.mu, then the port
// allocator's mu. A poller holds its mu for a round of forwarding; sockets
// are registered and closed under it, so a round never sees the descriptor
// of a closed socket. Addresses and counters are atomics.
package media
