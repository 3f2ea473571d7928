package signaling

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// udpClients is the table of our own client transactions over UDP (RFC 3261
// §17.1, RFC 6026): the requests Switchboard sends on the call path
// (INVITE, its ACK and CANCEL, BYE, refreshes) are written straight to the
// front's socket, and the front's readers hand every response to receive,
// which matches it by the top Via's branch and the CSeq method. What it
// does not match (responses to sipgo's own requests: OPTIONS pings, trunk
// requests...) goes on to sipgo as before.
//
// Why: sipgo spends, per request it sends, a transaction with its state
// machine, context and three timers, the transport layer's connection
// lookups, and per response it receives a goroutine; a transaction here is
// one struct, the request's bytes serialized once, and one timer re-armed
// from its own callback (issue #8).
//
// A transaction that has its final response leaves the table for a record
// in retired, which holds no pointers (as the front's replay cache): the
// ACK to send again and where, for Timers D and M (32 s), or nothing, to
// absorb a non-INVITE's retransmitted final (Timer K). Kept as objects,
// the INVITEs of the last 32 s were most of what the garbage collector
// marked during calls (issue #8).
type udpClients struct {
	sock    *frontSock // the front's socket (raw sendto on Linux, frontsock_*.go)
	bufs    *wireBufs  // the front's serialization buffers (wire.go)
	log     *slog.Logger
	timers  clientTimers // copied into each transaction at its start (tests shorten them)
	retired *replayCache // records of retired transactions (retire), rotated with the front's
	shard   [shards]struct {
		mu sync.Mutex
		m  map[string]*udpClientTx
	}
}

// clientTimers are the RFC 3261 timer bases of client transactions.
type clientTimers struct {
	T1, T2, T4 time.Duration
	D          time.Duration // Timer D: how long an INVITE absorbs retransmitted non-2xx finals
}

func newUDPClients(sock *frontSock, bufs *wireBufs, log *slog.Logger) *udpClients {
	c := &udpClients{sock: sock, bufs: bufs, log: log, timers: clientTimers{T1: sip.T1, T2: sip.T2, T4: sip.T4, D: sip.Timer_D},
		retired: newReplayCache(retiredBudget)}
	for i := range c.shard {
		c.shard[i].m = make(map[string]*udpClientTx)
	}
	return c
}

func txKey(branch string, method sip.RequestMethod) string {
	return branch + " " + string(method)
}

func (c *udpClients) idx(key string) int {
	var h uint32 = 2166136261
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return int(h % shards)
}

func (c *udpClients) put(tx *udpClientTx) bool {
	sh := &c.shard[c.idx(tx.key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, dup := sh.m[tx.key]; dup {
		return false
	}
	sh.m[tx.key] = tx
	return true
}

func (c *udpClients) get(key string) *udpClientTx {
	sh := &c.shard[c.idx(key)]
	sh.mu.Lock()
	tx := sh.m[key]
	sh.mu.Unlock()
	return tx
}

func (c *udpClients) del(tx *udpClientTx) {
	sh := &c.shard[c.idx(tx.key)]
	sh.mu.Lock()
	if sh.m[tx.key] == tx {
		delete(sh.m, tx.key)
	}
	sh.mu.Unlock()
}

// Len is the number of client transactions in the table (tests, leaks).
func (c *udpClients) Len() int {
	n := 0
	for i := range c.shard {
		c.shard[i].mu.Lock()
		n += len(c.shard[i].m)
		c.shard[i].mu.Unlock()
	}
	return n
}

// close ends every transaction (the socket is closing).
func (c *udpClients) close() {
	var all []*udpClientTx
	for i := range c.shard {
		c.shard[i].mu.Lock()
		for _, tx := range c.shard[i].m {
			all = append(all, tx)
		}
		c.shard[i].mu.Unlock()
	}
	for _, tx := range all {
		tx.terminate(sip.ErrTransactionTerminated)
	}
}

// write sends one datagram from the SIP socket.
func (c *udpClients) write(b []byte, to netip.AddrPort) error {
	return c.sock.send(b, to)
}

// udpDestination is where a request routed over UDP goes, when its
// destination is an IP address (a port defaults to 5060); ok is false for
// a name, which is left to sipgo's resolver.
func udpDestination(r *sip.Request) (netip.AddrPort, bool) {
	dest := r.Destination()
	if ap, err := netip.ParseAddrPort(dest); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	if a, err := netip.ParseAddr(dest); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(sip.DefaultPort("udp"))), true
	}
	host, port, err := net.SplitHostPort(dest)
	if err != nil {
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, false
	}
	p := atoiSafe(port)
	if p <= 0 || p > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), true
}

// request starts a client transaction for r, which carries its Via (our
// branch) and goes to to; it is in the table before the first write, as
// the response may come back before the write returns.
//
// With a sink, the responses (and the end, when no final response came)
// are handed to it in order on the goroutine that received them — a front
// reader, or the timer — instead of going through the Responses channel to
// a goroutine of the TU's: no hand-off between goroutines per response.
func (c *udpClients) request(r *sip.Request, to netip.AddrPort, sink responseSink) (*udpClientTx, error) {
	via := r.Via()
	if via == nil || r.CSeq() == nil {
		return nil, errors.New("udp client transaction: request without Via or CSeq")
	}
	branch, _ := via.Params.Get("branch")
	if branch == "" {
		return nil, errors.New("udp client transaction: Via without branch")
	}
	raw := c.bufs.bytes(r) // once, for the wire and the retransmissions
	tx := &udpClientTx{c: c, key: txKey(branch, r.CSeq().MethodName), method: r.Method, req: r, to: to,
		invite: r.IsInvite(), tm: c.timers, raw: raw, sink: sink, done: make(chan struct{})}
	if sink == nil {
		tx.responses = make(chan *sip.Response, txResponses)
	}
	if !c.put(tx) {
		return nil, fmt.Errorf("udp client transaction %s already exists", tx.key)
	}
	tx.mu.Lock()
	tx.interval = tx.tm.T1
	tx.deadline = time.Now().Add(64 * tx.tm.T1) // Timer B / Timer F
	tx.armLocked(tx.interval)
	tx.mu.Unlock()
	if err := c.write(raw, to); err != nil {
		tx.mu.Lock()
		tx.sink = nil // the caller hears of it from the error, not from the sink too
		tx.mu.Unlock()
		tx.terminate(fmt.Errorf("write %s to %s: %w: %w", r.Method, to, err, sip.ErrTransactionTransport))
		return nil, tx.Err()
	}
	return tx, nil
}

// receive takes a response datagram from the front: true when it belongs
// to one of our transactions (handled), false to pass it on to sipgo.
func (c *udpClients) receive(rd *frontReader, data []byte, from netip.AddrPort) bool {
	msg, err := rd.parser.ParseSIP(data)
	if err != nil {
		return false
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		return false
	}
	via, cseq := res.Via(), res.CSeq()
	if via == nil || cseq == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	key := txKey(branch, cseq.MethodName)
	tx := c.get(key)
	if tx == nil {
		return c.absorb(key, res)
	}
	res.SetTransport("UDP")
	res.SetSource(rd.names.name(from))
	tx.receive(res)
	return true
}

// txResponses is the room for responses the TU has not read yet: the last
// place is kept for the final response (there is only one), so passing a
// response up never blocks a reader; a provisional finding no room is
// dropped (the TU is that far behind, and a 1xx is advisory).
const txResponses = 4

// Client transaction states (RFC 3261 §17.1.1, §17.1.2; RFC 6026 §7.2).
type txState uint8

const (
	txCalling    txState = iota // INVITE sent (Trying for a non-INVITE)
	txProceeding                // 1xx seen
	txCompleted                 // non-2xx final (INVITE: ACKed), or a non-INVITE's final
	txAccepted                  // INVITE answered 2xx
	txTerminated
)

// udpClientTx is one client transaction of udpClients. Its one timer is
// Timer A/E (retransmissions) until the deadline (Timer B/F) while
// waiting, then Timer D, K or M (absorbing retransmitted responses).
type udpClientTx struct {
	c         *udpClients
	key       string
	method    sip.RequestMethod
	req       *sip.Request // until the final response (released then: see releaseLocked)
	to        netip.AddrPort
	invite    bool
	tm        clientTimers
	responses chan *sip.Response // nil with a sink
	sink      responseSink
	done      chan struct{}

	mu         sync.Mutex
	pending    []txEvent // for the sink, in the order the state machine saw them
	delivering bool      // a goroutine is handing pending to the sink
	finished   bool      // the final response was passed up (the sink hears of no end after it)
	state      txState
	raw        []byte // the request, while it may be retransmitted
	ack        []byte // INVITE: the ACK of the non-2xx final, for its retransmissions
	interval   time.Duration
	deadline   time.Time
	timer      *time.Timer
	fireAt     time.Time // when the timer is due: an earlier callback is stale
	err        error
	onRetrans  sip.FnTxResponse
	onTerm     sip.FnTxTerminate
}

var _ sip.ClientTransaction = (*udpClientTx)(nil)

// armLocked (re)starts the one timer to fire after d.
func (t *udpClientTx) armLocked(d time.Duration) {
	t.fireAt = time.Now().Add(d)
	if t.timer == nil {
		t.timer = time.AfterFunc(d, t.fire)
		return
	}
	t.timer.Reset(d)
}

func (t *udpClientTx) stopLocked() {
	t.fireAt = time.Time{}
	if t.timer != nil {
		t.timer.Stop()
	}
}

// fire is the timer: a retransmission (A, E), the timeout (B, F), or the
// end of the wait for retransmitted responses (D, K, M).
func (t *udpClientTx) fire() {
	t.mu.Lock()
	now := time.Now()
	if t.state == txTerminated || t.fireAt.IsZero() || now.Before(t.fireAt) {
		t.mu.Unlock()
		return // stale: re-armed or stopped since
	}
	switch {
	case t.state == txCompleted || t.state == txAccepted:
		t.mu.Unlock()
		t.terminate(nil)
		return
	case t.state == txProceeding && t.invite:
		t.mu.Unlock() // no timer in Proceeding (the TU gives up: Terminate)
		return
	case !now.Before(t.deadline):
		t.mu.Unlock()
		timer := "F"
		if t.invite {
			timer = "B"
		}
		t.terminate(fmt.Errorf("%s %s: Timer %s fired: %w", t.method, t.to, timer, sip.ErrTransactionTimeout))
		return
	}
	raw := t.raw
	switch {
	case t.invite:
		t.interval *= 2 // Timer A doubles, without a cap
	case t.state == txProceeding:
		t.interval = t.tm.T2
	default:
		t.interval = min(2*t.interval, t.tm.T2) // Timer E
	}
	t.armLocked(min(t.interval, t.deadline.Sub(now)))
	t.mu.Unlock()
	if err := t.c.write(raw, t.to); err != nil {
		t.terminate(fmt.Errorf("retransmit %s to %s: %w: %w", t.method, t.to, err, sip.ErrTransactionTransport))
	}
}

// receive runs a response through the state machine.
func (t *udpClientTx) receive(res *sip.Response) {
	t.mu.Lock()
	switch t.state {
	case txTerminated:
		t.mu.Unlock()
	case txCalling, txProceeding:
		t.answerLocked(res)
	case txCompleted:
		ack := t.ack
		t.mu.Unlock()
		if ack != nil && res.StatusCode >= 300 { // a retransmitted non-2xx final: ACK it again
			t.writeAck(ack)
		}
	case txAccepted:
		f := t.onRetrans
		t.mu.Unlock()
		if f != nil && res.IsSuccess() { // a retransmitted (or forked) 2xx: the TU ACKs it
			f(res)
		}
	}
}

// answerLocked handles the first responses, while the request may still be
// retransmitted; it unlocks t.mu.
func (t *udpClientTx) answerLocked(res *sip.Response) {
	if res.IsProvisional() {
		if t.state == txCalling {
			t.state = txProceeding
			if t.invite {
				t.raw = nil
				t.stopLocked() // Timer A and B end with the first 1xx
			}
		}
		if t.sink != nil {
			t.deliverUnlock(txEvent{res: res})
			return
		}
		if len(t.responses) < cap(t.responses)-1 {
			t.responses <- res
		}
		t.mu.Unlock()
		return
	}
	t.raw = nil
	t.finished = true
	var ack []byte
	switch {
	case t.invite && res.IsSuccess():
		t.state = txAccepted
		t.armLocked(64 * t.tm.T1) // Timer M (RFC 6026)
	case t.invite:
		t.state = txCompleted
		t.ack = t.c.bufs.bytes(t.nonSuccessAck(res))
		ack = t.ack
		t.armLocked(t.tm.D)
	default:
		t.state = txCompleted
		t.armLocked(t.tm.T4) // Timer K
	}
	t.req = nil // what is left to do (re-ACK, absorb) needs only bytes
	if t.sink == nil {
		t.responses <- res // the place kept for it: never blocks
		t.mu.Unlock()
		if ack != nil {
			t.writeAck(ack)
		}
		t.retireFinal(res, ack)
		return
	}
	if ack != nil {
		// The ACK goes before the sink hears of the response: what it sends
		// next (an INVITE again after a 422) must follow the ACK. Nothing
		// else reaches the sink meanwhile: the transaction is Completed and
		// finished.
		t.mu.Unlock()
		t.writeAck(ack)
		t.mu.Lock()
	}
	t.deliverUnlock(txEvent{res: res})
	t.retireFinal(res, ack)
}

// txEvent is what a sink is told: a response, or the end (res nil).
type txEvent struct {
	res *sip.Response
	err error
}

// responseSink takes a client transaction's responses, in order, on the
// goroutine that received them, and its end. It must not block: it runs
// on the front's readers.
type responseSink interface {
	response(tx sip.ClientTransaction, res *sip.Response)
	ended(tx sip.ClientTransaction, err error)
}

// deliverUnlock queues ev for the sink and unlocks t.mu; unless another
// goroutine is delivering already (it takes ev too), it hands the queue to
// the sink, outside the lock (the sink may call back into t), in the order
// the events were queued.
func (t *udpClientTx) deliverUnlock(ev txEvent) {
	t.pending = append(t.pending, ev)
	if t.delivering {
		t.mu.Unlock()
		return
	}
	t.delivering = true
	for len(t.pending) > 0 {
		ev, sink := t.pending[0], t.sink
		t.pending[0] = txEvent{}
		t.pending = t.pending[1:]
		t.mu.Unlock()
		if ev.res != nil {
			sink.response(t, ev.res)
		} else {
			sink.ended(t, ev.err)
		}
		t.mu.Lock()
	}
	t.pending = nil
	t.delivering = false
	if t.finished {
		// The sink has heard the final response and hears nothing after
		// it: let go of the leg (and through it the call), so a
		// transaction kept for Timer M or D holds no call for 32 s.
		t.sink = nil
	}
	t.mu.Unlock()
}

func (t *udpClientTx) writeAck(ack []byte) {
	if err := t.c.write(ack, t.to); err != nil {
		t.c.log.Debug("sip udp ack", "to", t.to.String(), "err", err)
	}
}

// nonSuccessAck is the ACK of a non-2xx final response, part of the INVITE
// transaction (RFC 3261 §17.1.1.3): the INVITE's Request-URI, its top Via
// (same branch), From, Call-ID and CSeq number, the response's To (with
// its tag) and the INVITE's Route headers.
func (t *udpClientTx) nonSuccessAck(res *sip.Response) *sip.Request {
	inv := t.req
	ack := sip.NewRequest(sip.ACK, *inv.Recipient.Clone())
	ack.AppendHeader(sip.HeaderClone(inv.Via()))
	for _, h := range inv.Headers() {
		if isNamed(h, "Route", "") {
			ack.AppendHeader(sip.HeaderClone(h))
		}
	}
	mf := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	if to := res.To(); to != nil {
		ack.AppendHeader(sip.HeaderClone(to))
	} else {
		ack.AppendHeader(sip.HeaderClone(inv.To()))
	}
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	setBody(ack, nil)
	return ack
}

// terminate ends the transaction once, with err (nil: a normal end).
func (t *udpClientTx) terminate(err error) {
	t.mu.Lock()
	if t.state == txTerminated {
		t.mu.Unlock()
		return
	}
	t.state = txTerminated
	t.err = err
	t.raw, t.ack = nil, nil
	t.stopLocked()
	f := t.onTerm
	t.mu.Unlock()
	t.c.del(t)
	close(t.done)
	if f != nil {
		f(t.key, err)
	}
	t.mu.Lock()
	if t.sink == nil || t.finished {
		t.mu.Unlock()
		return
	}
	t.deliverUnlock(txEvent{err: err})
}

// Terminate ends the transaction (the TU gives up: a cancelled INVITE
// without a final response, or a caller no longer waiting).
func (t *udpClientTx) Terminate() { t.terminate(sip.ErrTransactionCanceled) }

// Responses passes the responses up: every 1xx, then the final one (nil
// with a sink: they go to it).
func (t *udpClientTx) Responses() <-chan *sip.Response { return t.responses }

// Done is closed when the transaction ends.
func (t *udpClientTx) Done() <-chan struct{} { return t.done }

// Err is why the transaction ended: nil, or a timeout, transport error or
// cancellation (sip.ErrTransaction*).
func (t *udpClientTx) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// OnRetransmission registers f for the 2xx retransmissions of an answered
// INVITE; false when the transaction has ended.
func (t *udpClientTx) OnRetransmission(f sip.FnTxResponse) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == txTerminated {
		return false
	}
	if prev := t.onRetrans; prev != nil {
		t.onRetrans = func(r *sip.Response) { prev(r); f(r) }
	} else {
		t.onRetrans = f
	}
	return true
}

// OnTerminate registers f for the end of the transaction; false when it has
// ended already.
func (t *udpClientTx) OnTerminate(f sip.FnTxTerminate) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == txTerminated {
		return false
	}
	if prev := t.onTerm; prev != nil {
		t.onTerm = func(key string, err error) { prev(key, err); f(key, err) }
	} else {
		t.onTerm = f
	}
	return true
}
