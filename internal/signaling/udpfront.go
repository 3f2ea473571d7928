package signaling

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// udpFront owns the SIP UDP socket. Its readers (one per CPU) take every
// datagram, screen its source with the guard, and answer the requests that
// need no dialog — REGISTER and OPTIONS, most of a PBX's traffic — on the
// spot, without a sipgo transaction: the message is parsed by sipgo's
// parser, handled by the same handlers as over TCP, and the response is
// written straight back; the replay cache (retrans.go) gives
// retransmissions the same response for Timer J, which is what the RFC 3261
// non-INVITE server transaction is for. Everything else (INVITE, ACK, BYE,
// responses to our requests...) goes on to sipgo's transport through
// ReadFrom, unparsed, and sipgo writes through the same socket.
//
// Why: sipgo spends, per request, a goroutine, a transaction with its
// timers kept 32 s and the transport layer's lookups; for a registration
// (two REGISTERs) that was most of the CPU (docs/performance.md, ADR 0006).
type udpFront struct {
	*net.UDPConn // sipgo's side: WriteTo, LocalAddr... pass through

	s        *Server
	stateful chan datagram // what sipgo reads (ReadFrom)
	closed   chan struct{}
	answered chan struct{} // closed: what udpTx.Done returns (the handler has returned)
	once     sync.Once
	replay   *replayCache
	handlers map[string]sipgo.RequestHandler
	readers  sync.WaitGroup
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

const (
	replayKeep   = 64 * 500 * time.Millisecond // Timer J = 64·T1
	replayBudget = 64 << 20                    // bytes of cached responses, all shards
)

func newUDPFront(s *Server, conn *net.UDPConn) *udpFront {
	f := &udpFront{UDPConn: conn, s: s, stateful: make(chan datagram, 1024), closed: make(chan struct{}),
		answered: make(chan struct{}), replay: newReplayCache(replayBudget),
		handlers: map[string]sipgo.RequestHandler{
			string(sip.REGISTER): s.recoverer(s.handleRegister),
			string(sip.OPTIONS):  s.recoverer(s.handleOptions),
		}}
	close(f.answered)
	n := runtime.GOMAXPROCS(0)
	f.readers.Add(n)
	for range n {
		go f.read()
	}
	go f.rotate()
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
	return err
}

func (f *udpFront) rotate() {
	t := time.NewTicker(replayTick(replayKeep))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.replay.tick()
		case <-f.closed:
			return
		}
	}
}

func (f *udpFront) read() {
	defer f.readers.Done()
	buf := make([]byte, 1<<16)
	parser := sip.NewParser()
	for {
		n, from, err := f.UDPConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-f.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			f.s.log.Warn("sip udp read", "err", err)
			time.Sleep(time.Millisecond) // never spin on a failing socket
			continue
		}
		data := buf[:n]
		if len(bytes.Trim(data, "\r\n\x00")) == 0 {
			continue // keep-alive (RFC 5626 §4.4.1 CRLF) or padding
		}
		if f.s.guard.drops(from.Addr().Unmap()) {
			continue
		}
		if !f.handle(parser, data, from) {
			f.pass(data, from)
		}
	}
}

// pass hands a datagram to sipgo (a copy: the buffer is reused).
func (f *udpFront) pass(data []byte, from netip.AddrPort) {
	d := datagram{b: append([]byte(nil), data...), from: from}
	select {
	case f.stateful <- d:
	case <-f.closed:
	}
}

// handle answers data when it is a request the front serves; false passes
// it on to sipgo unchanged (also when it does not parse or lacks what a
// transaction needs: sipgo answers or drops it as before).
func (f *udpFront) handle(parser *sip.Parser, data []byte, from netip.AddrPort) bool {
	method, _, ok := bytes.Cut(data[:min(len(data), 16)], []byte(" "))
	if !ok {
		return false
	}
	h := f.handlers[string(method)] // no allocation: map lookup by converted bytes
	if h == nil {
		return false
	}
	msg, err := parser.ParseSIP(data)
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
	src := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	source := src.String()
	key := string(req.Method) + " " + branch + " " + source
	switch b, state := f.replay.begin(key); state {
	case replayPending:
		return true // absorbed: the answer is on its way
	case replayAnswer:
		f.write(b, from)
		return true
	}
	req.SetTransport("UDP")
	req.SetSource(source)
	tx := &udpTx{f: f, key: key, to: from}
	h(req, tx)
	if !tx.final {
		f.replay.abandon(key) // unanswered (a banned source): its retransmissions are handled anew
	}
	return true
}

func (f *udpFront) write(b []byte, to netip.AddrPort) {
	if _, err := f.UDPConn.WriteToUDPAddrPort(b, to); err != nil {
		f.s.log.Debug("sip udp write", "to", to.String(), "err", err)
	}
}

// udpTx is the transaction of a request the front answers: its responses
// go back to the address and port the request came from (as watchedTx does
// for sipgo's), the final one also into the replay cache. It is complete
// once the handler returns: no ACK, no CANCEL (REGISTER and OPTIONS only).
type udpTx struct {
	f     *udpFront
	key   string
	to    netip.AddrPort
	final bool
}

var _ sip.ServerTransaction = (*udpTx)(nil)

func (t *udpTx) Respond(res *sip.Response) error {
	if t.final {
		return errors.New("transaction already answered")
	}
	var buf bytes.Buffer
	buf.Grow(512)
	res.StringWrite(&buf)
	b := buf.Bytes()
	if res.StatusCode >= 200 {
		t.final = true
		t.f.replay.finish(t.key, b)
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
