package signaling

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// udpFront owns the SIP UDP socket. Its readers (one per CPU: a leader
// always at the socket, helpers it calls while it falls behind) take
// every datagram, screen its source with the guard, and serve most requests
// without sipgo's transaction layer: the message is parsed by sipgo's
// parser and handled by the same handlers as over TCP.
//
//   - REGISTER, OPTIONS and BYE are answered through the replay cache
//     (retrans.go), which gives retransmissions the same response for Timer
//     J, what the RFC 3261 non-INVITE server transaction is for. All run
//     on the reader; a BYE's answer, which waits for the call's end and
//     its CDR, is sent by whoever ends the call (deferAnswer, ByeReply).
//   - INVITEs get INVITE server transactions of the front's own
//     (udpinvite.go); a CANCEL or an ACK of a non-2xx answer goes to its
//     INVITE's transaction, the ACK of a 2xx to its dialog.
//   - Responses to the requests we send in client transactions of our own
//     (udpclient.go) go to them.
//
// Everything else (UPDATE, INFO, responses to sipgo's requests...) goes on to
// sipgo's transport through ReadFrom, unparsed, and sipgo writes through
// the same socket.
//
// Why: sipgo spends, per received message, a goroutine, a transaction
// with its timers and a context, and the transport layer's lookups; for a
// registration that was most of the CPU, and a call has nine messages
// (docs/performance.md, ADR 0006).
type udpFront struct {
	*net.UDPConn // sipgo's side: WriteTo, LocalAddr... pass through

	s        *Server
	stateful chan datagram // what sipgo reads (ReadFrom)
	closed   chan struct{}
	answered chan struct{} // closed: what udpTx.Done returns (the handler has returned)
	once     sync.Once
	replay   *replayCache
	bufs     *wireBufs // buffers to serialize messages into (wire.go), shared with clients
	invites  *inviteTable
	trying   tryingQueue // 100 Trying sent late, when still needed (trying.go)
	routes   map[string]frontRoute
	clients  *udpClients // our client transactions (udpclient.go)
	readers  sync.WaitGroup
	wake     chan struct{} // a parked helper reader takes one (callHelper)
	busy     atomic.Int64  // when the leader took the datagram it handles (UnixNano); 0 at the socket
	sock     *frontSock    // the readers' and the answers' system calls (frontsock_*.go)
	load     overload      // new calls refused while the readers fall behind (overload.go)
	// afterRecv, when set (tests: Server.frontAfterRecv), runs on the
	// reader after each datagram read, before it is handled.
	afterRecv func()
}

// datagram is a message for sipgo, copied out of a reader's buffer.
type datagram struct {
	b    []byte
	from netip.AddrPort
}

// screenedAddr is the source address of a datagram the front already
// screened: the guard's read filter lets it through without counting it
// twice.
type screenedAddr struct{ *net.UDPAddr }

// sipResponse starts every response's status line.
const sipResponse = "SIP/2.0 "

const (
	replayKeep   = 64 * 500 * time.Millisecond // Timer J = 64·T1
	replayBudget = 64 << 20                    // bytes of cached responses, all shards
)

func newUDPFront(s *Server, conn *net.UDPConn) *udpFront {
	sock, bufs := newFrontSock(conn), s.bufs
	f := &udpFront{bufs: bufs, UDPConn: conn, s: s, sock: sock, stateful: make(chan datagram, 1024), closed: make(chan struct{}),
		answered: make(chan struct{}), wake: make(chan struct{}), replay: newReplayCache(replayBudget), invites: newInviteTable(),
		clients: newUDPClients(sock, bufs, s.log), afterRecv: s.frontAfterRecv,
		load: overload{log: s.log, onShed: s.deps.Hooks.Shed},
		routes: map[string]frontRoute{
			string(sip.REGISTER): {h: s.recoverer(s.handleRegister)},
			string(sip.OPTIONS):  {h: s.recoverer(s.handleOptions)},
			string(sip.BYE):      {h: s.recoverer(s.handleBye)}, // answered when the call has ended: deferAnswer
			string(sip.INVITE):   {h: s.recoverer(s.handleInvite), kind: kindInvite},
			string(sip.ACK):      {h: s.recoverer(s.handleAck), kind: kindAck},
			string(sip.CANCEL):   {kind: kindCancel},
		}}
	close(f.answered)
	n := runtime.GOMAXPROCS(0)
	f.readers.Add(n)
	go f.read()
	for range n - 1 {
		if sockHelpers {
			go f.help()
		} else {
			go f.read()
		}
	}
	if sockHelpers && n > 1 {
		go f.watch()
	}
	go f.rotate()
	go f.tryingLoop()
	return f
}

// ReadFrom gives sipgo the next datagram the readers passed on.
func (f *udpFront) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case d := <-f.stateful:
		return copy(b, d.b), screenedAddr{net.UDPAddrFromAddrPort(d.from)}, nil
	case <-f.closed:
		return 0, nil, net.ErrClosed
	}
}

// Close closes the socket; the readers and sipgo's read loop end.
func (f *udpFront) Close() error {
	var err error
	f.once.Do(func() {
		close(f.closed)
		err = f.UDPConn.Close()
	})
	f.readers.Wait()
	f.clients.close()
	return err
}

func (f *udpFront) rotate() {
	t := time.NewTicker(replayTick(replayKeep))
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			f.replay.tick()
			f.clients.retired.tick()
			f.invites.sweep(now)
		case <-f.closed:
			return
		}
	}
}

// read is the leader, the reader always at the socket: it waits for the
// next datagram in the netpoller (frontsock_*.go) and handles it; a
// reader holding a datagram makes no call at the socket's read side
// before it has handled it (see frontSock.recv). When the socket has not
// run empty for helperAfter — datagrams wait while it works — it calls a
// helper (help). Where helpers are not available (sockHelpers) every
// reader is a leader.
func (f *udpFront) read() {
	defer f.readers.Done()
	buf := make([]byte, 1<<16)
	rd := newFrontReader()
	behind := time.Now() // when the socket was last found empty
	for i := uint(1); ; i++ {
		n, from, fill, waited, err := f.sock.recv(buf, f.load.probe(i))
		if err != nil {
			if f.readFailed(err) {
				return
			}
			continue
		}
		now := time.Now()
		if waited {
			behind = now
		} else if now.Sub(behind) > helperAfter {
			f.callHelper()
			behind = now
		}
		f.busy.Store(now.UnixNano())
		f.dispatch(rd, buf[:n], from, fill)
		f.busy.Store(0)
	}
}

// helperAfter is how long the leader may go without finding the socket
// empty before it calls a helper: a few datagrams' work. (250 µs cost
// more CPU and doubled the mean response time at 3,000 calls/s; 50 µs
// was no better than 100: ADR 0006 decision 16.)
const helperAfter = 100 * time.Microsecond

// help is a helper reader: parked until the leader (or another helper,
// or the watchdog) calls it, it then reads what is queued without the
// read lock and without waiting (tryRecv), and parks again when the
// socket is empty. One reader at the socket while it keeps up costs less
// than several taking turns: each turn handed the descriptor's read lock
// to another goroutine, a wake-up per datagram (ADR 0006).
func (f *udpFront) help() {
	defer f.readers.Done()
	buf := make([]byte, 1<<16)
	rd := newFrontReader()
	for {
		select {
		case <-f.wake:
		case <-f.closed:
			return
		}
		behind := time.Now()
		for i := uint(1); ; i++ {
			n, from, fill, ok, err := f.sock.tryRecv(buf, f.load.probe(i))
			if err != nil {
				if f.readFailed(err) {
					return
				}
				continue
			}
			if !ok {
				break
			}
			if now := time.Now(); now.Sub(behind) > helperAfter {
				f.callHelper() // still behind: one more
				behind = now
			}
			f.dispatch(rd, buf[:n], from, fill)
		}
	}
}

// callHelper wakes a parked helper, if there is one.
func (f *udpFront) callHelper() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// watch calls a helper when the leader has been inside one datagram's
// handling for longer than watchAfter: handlers must not wait, but should
// one, the socket is still read.
func (f *udpFront) watch() {
	t := time.NewTicker(watchAfter)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if b := f.busy.Load(); b != 0 && now.UnixNano()-b > int64(watchAfter) {
				f.callHelper()
			}
		case <-f.closed:
			return
		}
	}
}

const watchAfter = 20 * time.Millisecond

// readFailed handles a read error: true when the socket is closed.
func (f *udpFront) readFailed(err error) bool {
	select {
	case <-f.closed:
		return true
	default:
	}
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	f.s.log.Warn("sip udp read", "err", err)
	time.Sleep(time.Millisecond) // never spin on a failing socket
	return false
}

// dispatch handles one datagram a reader read.
func (f *udpFront) dispatch(rd *frontReader, data []byte, from netip.AddrPort, fill int) {
	f.load.observe(fill)
	if f.afterRecv != nil {
		f.afterRecv()
	}
	if len(bytes.Trim(data, "\r\n\x00")) == 0 {
		return // keep-alive (RFC 5626 §4.4.1 CRLF) or padding
	}
	if f.s.guard.drops(from.Addr().Unmap()) {
		return
	}
	if bytes.HasPrefix(data, []byte(sipResponse)) && f.clients.receive(rd, data, from) {
		return // a response to one of our client transactions
	}
	if !f.handle(rd, data, from) {
		f.pass(data, from)
	}
}

// frontReader is what one reader keeps between datagrams.
type frontReader struct {
	parser *sip.Parser
	names  sourceNames
}

func newFrontReader() *frontReader { return &frontReader{parser: sip.NewParser()} }

// sourceNames remembers the text of the last few source addresses (a
// message's Source is a string in sipgo): a call's messages come from a
// handful of peers, and writing the address anew cost an allocation per
// datagram.
type sourceNames struct {
	addrs [4]netip.AddrPort
	names [4]string
	next  int
}

// name is from as sipgo's Source, an IPv4-mapped address unmapped.
func (c *sourceNames) name(from netip.AddrPort) string {
	for i, a := range c.addrs {
		if a == from && c.names[i] != "" {
			return c.names[i]
		}
	}
	s := netip.AddrPortFrom(from.Addr().Unmap(), from.Port()).String()
	c.addrs[c.next], c.names[c.next] = from, s
	c.next = (c.next + 1) % len(c.addrs)
	return s
}

// pass hands a datagram to sipgo (a copy: the buffer is reused).
func (f *udpFront) pass(data []byte, from netip.AddrPort) {
	d := datagram{b: append([]byte(nil), data...), from: from}
	select {
	case f.stateful <- d:
	case <-f.closed:
	}
}

// frontRoute is what the front does with a request method.
// Every handler runs on the reader and must not wait: a new INVITE's
// handler keeps its transaction for the call (udpinvite.go), a BYE's
// defers its answer to the call's end (deferAnswer).
type frontRoute struct {
	h    sipgo.RequestHandler
	kind frontKind
}

type frontKind uint8

const (
	kindStateless frontKind = iota // non-INVITE: answered once, replayed (retrans.go)
	kindInvite                     // an INVITE server transaction (udpinvite.go)
	kindAck                        // to its INVITE transaction, else to the dialog
	kindCancel                     // to its INVITE transaction, else sipgo answers 481
)

// handle answers data when it is a request the front serves; false passes
// it on to sipgo unchanged (also when it does not parse or lacks what a
// transaction needs: sipgo answers or drops it as before).
func (f *udpFront) handle(rd *frontReader, data []byte, from netip.AddrPort) bool {
	method, _, ok := bytes.Cut(data[:min(len(data), 16)], []byte(" "))
	if !ok {
		return false
	}
	rt, ok := f.routes[string(method)] // no allocation: map lookup by converted bytes
	if !ok {
		return false
	}
	msg, err := rd.parser.ParseSIP(data)
	if err != nil {
		return false
	}
	req, ok := msg.(*sip.Request)
	if !ok || string(req.Method) != string(method) || req.CSeq() == nil || req.CallID() == nil ||
		req.From() == nil || req.To() == nil {
		return false
	}
	via := req.Via()
	if via == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	if !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		return false // RFC 2543 peer: sipgo's transaction matching handles it
	}
	source := rd.names.name(from)
	req.SetTransport("UDP")
	req.SetSource(source)
	switch rt.kind {
	case kindInvite:
		f.invite(req, branch+" "+source, from, rt.h)
		return true
	case kindAck:
		if !f.ackOrCancel(req, branch+" "+source, from) {
			rt.h(req, nil) // the ACK of a 2xx: the dialog's (handleAck does not block)
		}
		return true
	case kindCancel:
		return f.ackOrCancel(req, branch+" "+source, from) // unmatched: sipgo answers 481
	}
	key := string(req.Method) + " " + branch + " " + source
	switch b, state := f.replay.begin(key, nil); state { // an answer is a copy: a retransmission's
	case replayPending:
		return true // absorbed: the answer is on its way
	case replayAnswer:
		f.write(b, from)
		return true
	}
	tx := &udpTx{f: f, key: key, to: from}
	if req.Method == sip.REGISTER && f.load.refusesRegister(req) { // overloaded (overload.go)
		f.s.hook("overload")
		f.s.respond(req, tx, 503, "Service Unavailable", sip.NewHeader("Retry-After", shedRetryAfter))
		return true
	}
	f.serve(rt.h, req, tx)
	return true
}

// serve runs a non-INVITE handler; a request it left unanswered (a banned
// source) is forgotten, so its retransmissions are handled anew — unless
// the handler deferred its answer (deferAnswer): the record stays pending,
// absorbing retransmissions, until the answer comes.
func (f *udpFront) serve(h sipgo.RequestHandler, req *sip.Request, tx *udpTx) {
	h(req, tx)
	if !tx.final.Load() && !tx.deferred.Load() {
		f.replay.abandon(tx.key)
	}
}

func (f *udpFront) write(b []byte, to netip.AddrPort) {
	if err := f.sock.send(b, to); err != nil {
		f.s.log.Debug("sip udp write", "to", to.String(), "err", err)
	}
}

// udpTx is the transaction of a request the front answers: its responses
// go back to the address and port the request came from (as watchedTx does
// for sipgo's), the final one also into the replay cache. It is complete
// once the handler returns: no ACK, no CANCEL (REGISTER and OPTIONS only).
type udpTx struct {
	f        *udpFront
	key      string
	to       netip.AddrPort
	final    atomic.Bool // answered (a deferred answer comes from another goroutine)
	deferred atomic.Bool // the handler answers after it returns (deferAnswer)
}

var _ sip.ServerTransaction = (*udpTx)(nil)

// deferAnswer says whether tx may be answered after its handler returns,
// and if so marks it: true for the UDP front's non-INVITE transactions
// (the handler runs on the reader, which must not wait), false for
// sipgo's, which end when the handler returns.
func deferAnswer(tx sip.ServerTransaction) bool {
	if w, ok := tx.(*watchedTx); ok {
		tx = w.ServerTransaction
	}
	u, ok := tx.(*udpTx)
	if ok {
		u.deferred.Store(true)
	}
	return ok
}

func (t *udpTx) Respond(res *sip.Response) error {
	if t.final.Load() {
		return errors.New("transaction already answered")
	}
	buf := t.f.bufs.get(res)
	defer t.f.bufs.put(buf)
	return t.respondWire(res.StatusCode, false, buf.Bytes())
}

// wireTag: a fresh To-tag for each answer (writeResponseHead makes it).
func (t *udpTx) wireTag() string { return "" }

// respondWire is Respond with the response written (answer).
func (t *udpTx) respondWire(code int, _ bool, b []byte) error {
	if t.final.Load() {
		return errors.New("transaction already answered")
	}
	if code >= 200 {
		if t.final.Swap(true) {
			return errors.New("transaction already answered")
		}
		t.f.replay.finish(t.key, b) // the cache copies it
	}
	t.f.write(b, t.to)
	return nil
}

func (t *udpTx) Terminate()                         {}
func (t *udpTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (t *udpTx) Done() <-chan struct{}              { return t.f.answered }
func (t *udpTx) Err() error                         { return nil }
func (t *udpTx) Acks() <-chan *sip.Request          { return nil }
func (t *udpTx) OnCancel(sip.FnTxCancel) bool       { return false }
