// Package media is the RTP relay of the B2BUA: it anchors every call's media
// on the PBX so that the two parties only ever see the PBX's address.
//
// A Relay owns a UDP port range. Each call gets a Session; for every m= line
// of the call's SDP the session owns one RTP/RTCP port pair facing the caller
// (SideA) and one facing the callee (SideB). Session.Rewrite learns a party's
// media address from the SDP it sent and returns the SDP to hand to the other
// party, pointing at the relay.
//
// Forwarding: one goroutine per socket reads into a reusable buffer and writes
// the raw bytes, unchanged, out of the paired socket on the other side.
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
// Lock order: Session.mu, then Relay.mu, then the port allocator's mu.
// Forwarding goroutines take no locks; they use atomics.
package media
