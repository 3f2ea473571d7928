package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// datagram is one UDP payload from a capture, with the kernel's timestamp
// of the packet.
type datagram struct {
	at       time.Duration // since the Unix epoch
	src, dst netip.AddrPort
	payload  []byte // valid until the next read
}

// pcapReader reads UDP datagrams from a classic pcap file (tcpdump -w),
// microsecond or nanosecond timestamps, either byte order; link types
// Ethernet (what tcpdump -i lo writes on Linux), Linux cooked v1 and v2
// (-i any) and raw IP. Packets that are not whole unfragmented UDP over
// IPv4 or IPv6 are skipped and counted.
type pcapReader struct {
	r       *bufio.Reader
	order   binary.ByteOrder
	nano    bool
	link    uint32
	hdr     [16]byte
	buf     []byte
	skipped int
}

const (
	linkEthernet = 1
	linkRaw      = 101
	linkRawAlt   = 12 // DLT_RAW on some systems
	linkSLL      = 113
	linkSLL2     = 276
)

func newPcapReader(r io.Reader) (*pcapReader, error) {
	p := &pcapReader{r: bufio.NewReaderSize(r, 1<<20)}
	var g [24]byte
	if _, err := io.ReadFull(p.r, g[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	switch {
	case binary.LittleEndian.Uint32(g[:4]) == 0xa1b2c3d4:
		p.order = binary.LittleEndian
	case binary.LittleEndian.Uint32(g[:4]) == 0xa1b23c4d:
		p.order, p.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(g[:4]) == 0xa1b2c3d4:
		p.order = binary.BigEndian
	case binary.BigEndian.Uint32(g[:4]) == 0xa1b23c4d:
		p.order, p.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("not a pcap file (magic %#x; pcapng is not read: tcpdump -w writes pcap)", g[:4])
	}
	p.link = p.order.Uint32(g[20:24]) & 0x0fffffff
	switch p.link {
	case linkEthernet, linkRaw, linkRawAlt, linkSLL, linkSLL2:
	default:
		return nil, fmt.Errorf("pcap link type %d not read (Ethernet, raw IP, Linux cooked v1/v2 are)", p.link)
	}
	return p, nil
}

// next returns the next UDP datagram; io.EOF at the end of the file. A
// record cut short by the end of the file (tcpdump killed mid-write) ends
// the file too.
func (p *pcapReader) next() (datagram, error) {
	for {
		if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			return datagram{}, err
		}
		sec, frac := p.order.Uint32(p.hdr[0:4]), p.order.Uint32(p.hdr[4:8])
		n := p.order.Uint32(p.hdr[8:12])
		if n > 1<<18 {
			return datagram{}, fmt.Errorf("pcap record of %d bytes: file corrupt", n)
		}
		if cap(p.buf) < int(n) {
			p.buf = make([]byte, n)
		}
		b := p.buf[:n]
		if _, err := io.ReadFull(p.r, b); err != nil {
			return datagram{}, io.EOF
		}
		at := time.Duration(sec) * time.Second
		if p.nano {
			at += time.Duration(frac)
		} else {
			at += time.Duration(frac) * time.Microsecond
		}
		d, ok := p.udp(b)
		if !ok {
			p.skipped++
			continue
		}
		d.at = at
		return d, nil
	}
}

// udp takes the link and IP headers off a packet.
func (p *pcapReader) udp(b []byte) (datagram, bool) {
	var proto uint16
	switch p.link {
	case linkEthernet:
		if len(b) < 14 {
			return datagram{}, false
		}
		proto, b = binary.BigEndian.Uint16(b[12:14]), b[14:]
		if proto == 0x8100 && len(b) >= 4 { // one VLAN tag
			proto, b = binary.BigEndian.Uint16(b[2:4]), b[4:]
		}
	case linkSLL:
		if len(b) < 16 {
			return datagram{}, false
		}
		proto, b = binary.BigEndian.Uint16(b[14:16]), b[16:]
	case linkSLL2:
		if len(b) < 20 {
			return datagram{}, false
		}
		proto, b = binary.BigEndian.Uint16(b[0:2]), b[20:]
	default: // raw IP
		if len(b) < 1 {
			return datagram{}, false
		}
		switch b[0] >> 4 {
		case 4:
			proto = 0x0800
		case 6:
			proto = 0x86dd
		}
	}
	var d datagram
	switch proto {
	case 0x0800:
		if len(b) < 20 || b[0]>>4 != 4 {
			return d, false
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl || b[9] != 17 {
			return d, false
		}
		if frag := binary.BigEndian.Uint16(b[6:8]); frag&0x3fff != 0 { // MF or an offset
			return d, false
		}
		src, dst := netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		return udpPayload(b[ihl:], src, dst)
	case 0x86dd:
		if len(b) < 40 || b[0]>>4 != 6 || b[6] != 17 { // extension headers are not followed
			return d, false
		}
		src, dst := netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		return udpPayload(b[40:], src, dst)
	}
	return d, false
}

func udpPayload(b []byte, src, dst netip.Addr) (datagram, bool) {
	if len(b) < 8 {
		return datagram{}, false
	}
	n := int(binary.BigEndian.Uint16(b[4:6]))
	if n < 8 || n > len(b) { // cut by the snap length
		return datagram{}, false
	}
	return datagram{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b[0:2])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:4])),
		payload: b[8:n],
	}, true
}
