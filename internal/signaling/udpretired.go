package signaling

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// The retirement of our UDP client transactions (udpclient.go): once a
// transaction has passed its final response up, what is left of it — ACK a
// retransmitted final again, or absorb it — is a record in
// udpClients.retired, a replayCache (retrans.go) that holds no pointers.

// retiredBudget bounds the records of retired transactions: past it the
// oldest go early (a response retransmitted that late then goes to sipgo,
// which drops it), never the node's memory.
const retiredBudget = 64 << 20

// The kinds of retired transactions (the first byte of their record).
const (
	retiredAnswered  = 'A'        // INVITE, 2xx: a retransmitted 2xx gets the ACK again
	retiredRefused   = 'R'        // INVITE, non-2xx: a retransmitted non-2xx gets the ACK again
	retiredNonInvite = 'N'        // non-INVITE: retransmitted finals are absorbed
	retiredAddr      = 1 + 16 + 2 // kind, address (16 bytes), port: then the ACK
)

// absorb handles a response to a retired transaction of key: true when
// there is one (an ACK sent again, or nothing), false to pass it on.
func (c *udpClients) absorb(key string, res *sip.Response) bool {
	rec, ok := c.retired.get(key, nil) // a copy: a retransmitted response's
	if !ok || len(rec) == 0 {
		return false
	}
	if len(rec) > retiredAddr && (rec[0] == retiredAnswered && res.IsSuccess() ||
		rec[0] == retiredRefused && res.StatusCode >= 300) {
		ip := netip.AddrFrom16([16]byte(rec[1:17])).Unmap()
		to := netip.AddrPortFrom(ip, uint16(rec[17])<<8|uint16(rec[18]))
		if err := c.write(rec[retiredAddr:], to); err != nil {
			c.log.Debug("sip udp ack", "to", to.String(), "err", err)
		}
	}
	return true
}

// retire ends t once its final response is handled, leaving a record in
// c.retired (kind, and for an INVITE the ACK to send again and where). The
// record goes in before t leaves the table: a retransmission that misses
// the table finds it.
func (t *udpClientTx) retire(kind byte, ack []byte, to netip.AddrPort) {
	var head [retiredAddr]byte
	n := 1
	head[0] = kind
	if ack != nil {
		a16 := to.Addr().As16()
		copy(head[1:17], a16[:])
		head[17], head[18] = byte(to.Port()>>8), byte(to.Port())
		n = retiredAddr
	}
	t.c.retired.finishParts(t.key, head[:n], ack)
	t.terminate(nil)
}

// answered2xx takes the ACK the TU sent for the 2xx of this INVITE
// (RFC 3261 §13.2.2.4) and retires the transaction: a retransmitted 2xx
// gets those bytes again, sent to to, for Timer M. Until then (or when
// the TU never calls it) the transaction itself waits out Timer M.
func (t *udpClientTx) answered2xx(ack []byte, to netip.AddrPort) {
	t.mu.Lock()
	accepted := t.state == txAccepted
	t.mu.Unlock()
	if accepted {
		t.retire(retiredAnswered, ack, to)
	}
}

// retireFinal retires a transaction whose final response was passed up,
// except an INVITE's 2xx: its ACK comes from the TU (answered2xx).
func (t *udpClientTx) retireFinal(res *sip.Response, ack []byte) {
	switch {
	case !t.invite:
		t.retire(retiredNonInvite, nil, t.to)
	case !res.IsSuccess():
		t.retire(retiredRefused, ack, t.to)
	}
}
