package signaling

import (
	"bytes"
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// testT1 is the T1 of the client transactions under test: Timer B and F
// (64·T1) pass in 3.2 s. Not shorter: the -race tier on a loaded 2-core
// machine stalls goroutines for hundreds of ms, and a Timer B firing
// before the test's peer answers is a flake, not a finding.
const testT1 = 50 * time.Millisecond

// clientServer starts a server whose UDP client transactions run on short
// timers, and a peer's UDP socket the requests go to.
func clientServer(t *testing.T) (*Server, *net.UDPConn) {
	t.Helper()
	s, peer := startWithPhone(t, directory.Build(nil, nil), nil)
	s.udp.clients.timers = clientTimers{T1: testT1, T2: 4 * testT1, T4: 5 * testT1, D: 10 * testT1}
	return s, peer
}

func peerAddr(peer *net.UDPConn) string { return peer.LocalAddr().String() }

// peerRequest reads the next request the peer gets, within wait.
func peerRequest(t *testing.T, peer *net.UDPConn, wait time.Duration) (*sip.Request, []byte) {
	t.Helper()
	raw := recvRaw(t, peer, wait)
	if raw == nil {
		t.Fatalf("no request within %v", wait)
	}
	m, err := sip.ParseMessage(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	req, ok := m.(*sip.Request)
	if !ok {
		t.Fatalf("got a response: %q", raw)
	}
	return req, raw
}

// peerRespond answers req from the peer (with the callee's To-tag when
// toTag is set) and returns the bytes sent.
func peerRespond(t *testing.T, peer *net.UDPConn, s *Server, req *sip.Request, code int, toTag string) []byte {
	t.Helper()
	res := sip.NewResponseFromRequest(req, code, reasonFor(code), nil)
	if toTag != "" {
		res.To().Params.Add("tag", toTag)
	}
	raw := []byte(res.String())
	sendTo(t, peer, s, string(raw))
	return raw
}

// newInvite is an INVITE to the peer, routed over UDP.
func newInvite(s *Server, peer *net.UDPConn) *sip.Request {
	uri := sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: peer.LocalAddr().(*net.UDPAddr).Port}
	r := sip.NewRequest(sip.INVITE, uri)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	r.AppendHeader(from)
	r.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "example.com"}, Params: sip.NewParams()})
	cid := sip.CallIDHeader("client-" + sip.GenerateTagN(12))
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	r.AppendHeader(s.contact("UDP"))
	s.route(r, "UDP", peerAddr(peer))
	return r
}

func ourTx(t *testing.T, tx sip.ClientTransaction) *udpClientTx {
	t.Helper()
	u, ok := tx.(*udpClientTx)
	if !ok {
		t.Fatalf("transaction %T: a UDP request did not go through the front's transactions", tx)
	}
	return u
}

func branchOf(m sip.Message) string {
	var via *sip.ViaHeader
	switch m := m.(type) {
	case *sip.Request:
		via = m.Via()
	case *sip.Response:
		via = m.Via()
	}
	if via == nil {
		return ""
	}
	b, _ := via.Params.Get("branch")
	return b
}

func nextResponse(t *testing.T, tx sip.ClientTransaction) *sip.Response {
	t.Helper()
	select {
	case res := <-tx.Responses():
		return res
	case <-time.After(5 * time.Second):
		select {
		case <-tx.Done():
			t.Fatalf("no response passed up: the transaction ended (%v)", tx.Err())
		default:
		}
		t.Fatal("no response passed up")
		return nil
	}
}

// quiet asserts the peer gets nothing for d.
func quiet(t *testing.T, peer *net.UDPConn, d time.Duration, why string) {
	t.Helper()
	if raw := recvRaw(t, peer, d); raw != nil {
		t.Fatalf("%s, got:\n%s", why, raw)
	}
}

// An INVITE is retransmitted (the same bytes, Timer A doubling) until the
// first 1xx, and after it nothing more: no retransmission, and no Timer B
// in Proceeding (the TU ends it).
func TestUDPClientInviteRetransmittedUntilProvisional(t *testing.T) {
	s, peer := clientServer(t)
	tx, err := s.transaction(newInvite(s, peer))
	if err != nil {
		t.Fatal(err)
	}
	ourTx(t, tx)
	req, first := peerRequest(t, peer, time.Second)
	if via := req.Via(); via.Host != s.host || via.Port != s.Port() || !via.Params.Has("rport") {
		t.Errorf("Via %s: want our advertised address %s:%d and rport", via.Value(), s.host, s.Port())
	}
	start := time.Now()
	for i := range 2 {
		_, again := peerRequest(t, peer, time.Second)
		if !bytes.Equal(first, again) {
			t.Fatalf("retransmission %d differs:\n%s\nthen\n%s", i+1, first, again)
		}
	}
	if d := time.Since(start); d < 2*testT1 { // T1 then 2·T1 after the first
		t.Errorf("two retransmissions in %v: Timer A does not double", d)
	}
	peerRespond(t, peer, s, req, 100, "")
	if res := nextResponse(t, tx); res.StatusCode != 100 {
		t.Fatalf("passed up %d, want 100", res.StatusCode)
	}
	_ = recvRaw(t, peer, 2*testT1) // one may have crossed the 100
	quiet(t, peer, 30*testT1, "INVITE retransmitted after a 1xx")
	select {
	case <-tx.Done():
		t.Fatalf("INVITE transaction ended in Proceeding: %v", tx.Err())
	case <-time.After(40 * testT1): // past Timer B
	}
	tx.Terminate()
	<-tx.Done()
	if n := s.udp.clients.Len(); n != 0 {
		t.Fatalf("%d client transactions left", n)
	}
}

// dialPeer dials the peer as a registered device over UDP.
func dialPeer(t *testing.T, s *Server, peer *net.UDPConn, ev callctl.LegEvents) *outbound {
	t.Helper()
	port := strconv.Itoa(peer.LocalAddr().(*net.UDPAddr).Port)
	d := callctl.Dial{CallID: "caller-1",
		Target: pbx.Binding{Contact: "sip:bob@127.0.0.1:" + port, Source: peerAddr(peer), Transport: "udp"},
		Callee: &pbx.User{SIPAddress: "bob@example.com"},
		From:   callctl.Identity{User: "alice", Host: "example.com"}, SDP: []byte("v=0\r\n")}
	leg, err := s.Dial(context.Background(), d, ev)
	if err != nil {
		t.Fatal(err)
	}
	o := leg.(*outbound)
	t.Cleanup(o.Release)
	return o
}

func waitEvents(t *testing.T, ev *legRecorder, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := ev.got()
		if len(got) == len(want) {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("leg events %v, want %v", got, want)
				}
			}
			return
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			t.Fatalf("leg events %v, want %v", got, want)
		}
		time.Sleep(testT1)
	}
}

// An INVITE nobody answers ends at Timer B: the leg fails 408, after the
// INVITE was retransmitted all along.
func TestUDPClientInviteTimeoutIs408(t *testing.T) {
	s, peer := clientServer(t)
	ev := &legRecorder{}
	o := dialPeer(t, s, peer, ev)
	ourTx(t, o.tx)
	_, first := peerRequest(t, peer, time.Second)
	copies := 1
	for {
		raw := recvRaw(t, peer, 70*testT1)
		if raw == nil {
			break
		}
		if !bytes.Equal(first, raw) {
			t.Fatalf("retransmission differs:\n%s\nthen\n%s", first, raw)
		}
		copies++
	}
	if copies < 6 || copies > 8 { // at 0, 1, 3, 7, 15, 31 and 63 T1
		t.Errorf("%d copies of the INVITE before Timer B, want 7 (Timer A doubling)", copies)
	}
	waitEvents(t, ev, "failed 408")
	if n := s.Dialogs(); n != 0 {
		t.Errorf("%d dialogs left", n)
	}
	if n := s.udp.clients.Len(); n != 0 {
		t.Errorf("%d client transactions left", n)
	}
}

// A non-2xx final is ACKed by the transaction itself: the INVITE's branch,
// the response's To-tag. The transaction then retires: its record ACKs a
// retransmission of the final again (nothing is passed up) until it is
// rotated out (Timer D).
func TestUDPClientAcksNonSuccessFinal(t *testing.T) {
	s, peer := clientServer(t)
	tx, err := s.transaction(newInvite(s, peer))
	if err != nil {
		t.Fatal(err)
	}
	ourTx(t, tx)
	inv, _ := peerRequest(t, peer, time.Second)
	busy := peerRespond(t, peer, s, inv, 486, "callee")
	if res := nextResponse(t, tx); res.StatusCode != 486 {
		t.Fatalf("passed up %d, want 486", res.StatusCode)
	}
	var ack *sip.Request
	var ackRaw []byte
	for ack == nil || ack.Method != sip.ACK { // skip INVITE retransmissions that crossed the 486
		ack, ackRaw = peerRequest(t, peer, time.Second)
	}
	if branchOf(ack) != branchOf(inv) {
		t.Errorf("ACK branch %q, want the INVITE's %q", branchOf(ack), branchOf(inv))
	}
	if tag, _ := ack.To().Params.Get("tag"); tag != "callee" {
		t.Errorf("ACK To-tag %q, want the 486's", tag)
	}
	if c := ack.CSeq(); c.SeqNo != inv.CSeq().SeqNo || c.MethodName != sip.ACK {
		t.Errorf("ACK CSeq %s", c.Value())
	}
	if ack.CallID().Value() != inv.CallID().Value() || ack.Recipient.String() != inv.Recipient.String() {
		t.Errorf("ACK Call-ID or Request-URI differ from the INVITE's:\n%s", ackRaw)
	}

	sendTo(t, peer, s, string(busy)) // the ACK was lost
	_, again := peerRequest(t, peer, time.Second)
	if !bytes.Equal(again, ackRaw) {
		t.Fatalf("retransmitted 486 ACKed with\n%s\nwant\n%s", again, ackRaw)
	}
	select {
	case res := <-tx.Responses():
		t.Fatalf("retransmitted final passed up: %d", res.StatusCode)
	case <-tx.Done(): // retired
	case <-time.After(2 * time.Second):
		t.Fatal("the transaction did not end after its final response")
	}
	if err := tx.Err(); err != nil {
		t.Errorf("transaction ended with %v, want nil", err)
	}
	if n := s.udp.clients.Len(); n != 0 {
		t.Fatalf("%d client transactions after the final response, want 0 (retired)", n)
	}
	quiet(t, peer, 5*testT1, "INVITE sent after its final response")
	for range replayGenerations {
		s.udp.clients.retired.tick()
	}
	sendTo(t, peer, s, string(busy)) // past the record: not ours any more
	quiet(t, peer, 5*testT1, "a final ACKed after its record was gone")
}

// A call answered: the leg ACKs the 2xx (a new branch, the callee's tag),
// a retransmitted 2xx reaches OnRetransmission and is ACKed again (so is a
// re-INVITE's); its BYE is retransmitted (Timer E) until answered.
func TestUDPClientAnsweredCallAndBye(t *testing.T) {
	s, peer := clientServer(t)
	ev := &legRecorder{}
	o := dialPeer(t, s, peer, ev)
	ourTx(t, o.tx)
	inv, _ := peerRequest(t, peer, time.Second)
	peerRespond(t, peer, s, inv, 180, "callee")
	// The front's readers run in parallel: a 200 sent right behind the 180
	// may be handled first, and a 1xx after the final is dropped (as over a
	// network reordering them). Wait for the 180 to be seen.
	waitEvents(t, ev, "provisional")
	ok := peerRespond(t, peer, s, inv, 200, "callee")
	var ack *sip.Request
	var ackRaw []byte
	for ack == nil || ack.Method != sip.ACK {
		ack, ackRaw = peerRequest(t, peer, time.Second)
	}
	if branchOf(ack) == branchOf(inv) {
		t.Error("ACK of a 2xx reuses the INVITE's branch (it is a transaction of its own)")
	}
	if tag, _ := ack.To().Params.Get("tag"); tag != "callee" || ack.CSeq().MethodName != sip.ACK {
		t.Errorf("ACK To %s CSeq %s", ack.To().Value(), ack.CSeq().Value())
	}
	waitEvents(t, ev, "provisional", "answered")

	sendTo(t, peer, s, string(ok)) // the ACK was lost
	_, again := peerRequest(t, peer, time.Second)
	if !bytes.Equal(again, ackRaw) {
		t.Fatalf("retransmitted 2xx ACKed with\n%s\nwant\n%s", again, ackRaw)
	}

	// A re-INVITE: its 2xx is ACKed, and ACKed again when retransmitted.
	reinv := make(chan int, 1)
	go func() { code, _, _ := o.ReInvite([]byte("v=0\r\n")); reinv <- code }()
	re, _ := peerRequest(t, peer, time.Second)
	if re.Method != sip.INVITE || re.CSeq().SeqNo <= inv.CSeq().SeqNo {
		t.Fatalf("got %s CSeq %s, want a re-INVITE", re.Method, re.CSeq().Value())
	}
	reOK := peerRespond(t, peer, s, re, 200, "")
	for ack = nil; ack == nil || ack.Method != sip.ACK; {
		ack, ackRaw = peerRequest(t, peer, time.Second)
	}
	if ack.CSeq().SeqNo != re.CSeq().SeqNo {
		t.Errorf("ACK CSeq %s, want the re-INVITE's number", ack.CSeq().Value())
	}
	if code := <-reinv; code != 200 {
		t.Fatalf("ReInvite: %d", code)
	}
	sendTo(t, peer, s, string(reOK))
	if _, again := peerRequest(t, peer, time.Second); !bytes.Equal(again, ackRaw) {
		t.Fatalf("retransmitted 2xx of the re-INVITE ACKed with\n%s\nwant\n%s", again, ackRaw)
	}

	bye := make(chan error, 1)
	go func() { bye <- o.Bye() }()
	req, first := peerRequest(t, peer, time.Second)
	if req.Method != sip.BYE {
		t.Fatalf("got %s, want BYE", req.Method)
	}
	for range 2 { // lost twice
		if _, raw := peerRequest(t, peer, time.Second); !bytes.Equal(raw, first) {
			t.Fatalf("BYE retransmission differs:\n%s\nthen\n%s", first, raw)
		}
	}
	peerRespond(t, peer, s, req, 200, "")
	succeedsWithin(t, bye, "Bye after its 200")
	_ = recvRaw(t, peer, 2*testT1)
	quiet(t, peer, 20*testT1, "BYE retransmitted after its 200")
	// Every transaction of the call retired with its final response.
	if n := s.udp.clients.Len(); n != 0 {
		t.Fatalf("%d client transactions after the call, want 0 (retired)", n)
	}
}

// A BYE the callee never answers ends with its transaction's Timer F
// (64×T1): Bye has no deadline of its own.
func TestUDPClientByeUnansweredEndsAtTimerF(t *testing.T) {
	_, _, o := answeredLeg(t)
	start := time.Now()
	bye := make(chan error, 1)
	go func() { bye <- o.Bye() }()
	endsAtTimerF(t, start, bye, "Bye")
}

// answeredLeg dials a peer that answers 200: the leg once it has ACKed.
func answeredLeg(t *testing.T) (*Server, *net.UDPConn, *outbound) {
	t.Helper()
	s, peer := clientServer(t)
	o := dialPeer(t, s, peer, &legRecorder{})
	inv, _ := peerRequest(t, peer, time.Second)
	peerRespond(t, peer, s, inv, 200, "callee")
	for ack := (*sip.Request)(nil); ack == nil || ack.Method != sip.ACK; {
		ack, _ = peerRequest(t, peer, time.Second)
	}
	return s, peer, o
}

// succeedsWithin waits up to 2 s for an outcome, which must be nil.
func succeedsWithin(t *testing.T, outcome <-chan error, what string) {
	t.Helper()
	select {
	case err := <-outcome:
		if err != nil {
			t.Fatalf("%s: %v, want nil", what, err)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("%s: no outcome", what)
	}
}

// endsAtTimerF waits for the outcome of a BYE sent at start that nobody
// answers: an error, and not before Timer F.
func endsAtTimerF(t *testing.T, start time.Time, outcome <-chan error, what string) {
	t.Helper()
	select {
	case err := <-outcome:
		if err == nil {
			t.Fatalf("%s to a silent callee reported no error", what)
		}
		if d := time.Since(start); d < 60*testT1 {
			t.Errorf("%s gave up after %v, before Timer F (%v)", what, d, 64*testT1)
		}
	case <-time.After(64*testT1 + 5*time.Second):
		t.Fatalf("%s still waiting well after Timer F", what)
	}
}

// A CANCEL copies the INVITE's Via (its branch); the 487 that follows is
// ACKed by the INVITE transaction and the cancelled leg reports nothing.
func TestUDPClientCancel(t *testing.T) {
	s, peer := clientServer(t)
	ev := &legRecorder{}
	o := dialPeer(t, s, peer, ev)
	inv, _ := peerRequest(t, peer, time.Second)
	peerRespond(t, peer, s, inv, 180, "callee")
	waitEvents(t, ev, "provisional")
	o.Cancel()
	var cancel *sip.Request
	for cancel == nil || cancel.Method != sip.CANCEL {
		cancel, _ = peerRequest(t, peer, time.Second)
	}
	if branchOf(cancel) != branchOf(inv) || cancel.CSeq().SeqNo != inv.CSeq().SeqNo {
		t.Fatalf("CANCEL branch %q CSeq %s, want the INVITE's %q", branchOf(cancel), cancel.CSeq().Value(), branchOf(inv))
	}
	peerRespond(t, peer, s, cancel, 200, "callee")
	peerRespond(t, peer, s, inv, 487, "callee")
	var ack *sip.Request
	for ack == nil || ack.Method != sip.ACK {
		ack, _ = peerRequest(t, peer, time.Second)
	}
	if branchOf(ack) != branchOf(inv) {
		t.Errorf("ACK of the 487: branch %q, want the INVITE's", branchOf(ack))
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Dialogs() != 0 && time.Now().Before(deadline) {
		time.Sleep(testT1)
	}
	if n := s.Dialogs(); n != 0 {
		t.Errorf("%d dialogs left after the 487", n)
	}
	waitEvents(t, ev, "provisional")
}

// Responses to requests sipgo sent itself (OPTIONS pings, trunk requests)
// match none of ours and still reach sipgo's transaction.
func TestUDPClientPassesOtherResponsesToSipgo(t *testing.T) {
	s, peer := clientServer(t)
	r := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: peer.LocalAddr().(*net.UDPAddr).Port})
	s.route(r, "UDP", peerAddr(peer))
	var tx sip.ClientTransaction
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(testT1) {
		// sipgo's read loop registers the socket on its own goroutine
		// after Start: until then it would bind a second one.
		if tx, err = s.cli.TransactionRequest(context.Background(), r.Clone()); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Terminate()
	if _, mine := tx.(*udpClientTx); mine {
		t.Fatal("sipgo's request became ours")
	}
	req, _ := peerRequest(t, peer, time.Second)
	peerRespond(t, peer, s, req, 200, "")
	if res := nextResponse(t, tx); res.StatusCode != 200 {
		t.Fatalf("sipgo got %d, want 200", res.StatusCode)
	}
}

// sinkRecorder is a responseSink that records what it is told, and may act
// on the transaction from inside a call (as outbound does).
type sinkRecorder struct {
	mu     sync.Mutex
	events []string
	nested bool // a call began while another was running
	busy   bool
	onResp func(tx sip.ClientTransaction, res *sip.Response)
}

func (r *sinkRecorder) note(ev string, f func()) {
	r.mu.Lock()
	r.nested = r.nested || r.busy
	r.busy = true
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if f != nil {
		f()
	}
	r.mu.Lock()
	r.busy = false
	r.mu.Unlock()
}

func (r *sinkRecorder) response(tx sip.ClientTransaction, res *sip.Response) {
	r.note(strconv.Itoa(res.StatusCode), func() {
		if r.onResp != nil {
			r.onResp(tx, res)
		}
	})
}

func (r *sinkRecorder) ended(_ sip.ClientTransaction, err error) {
	r.note("ended", nil)
}

func (r *sinkRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// A sink gets the responses in order, one call at a time even when the TU
// ends the transaction from inside one (the end comes after it returns),
// and no end after a final response.
func TestUDPClientSinkInOrder(t *testing.T) {
	s, peer := clientServer(t)
	rec := &sinkRecorder{}
	rec.onResp = func(tx sip.ClientTransaction, res *sip.Response) {
		if res.StatusCode == 183 {
			tx.Terminate() // the TU gives up while the 183 is handled
		}
	}
	tx, err := s.transactionTo(newInvite(s, peer), rec)
	if err != nil {
		t.Fatal(err)
	}
	ourTx(t, tx)
	inv, _ := peerRequest(t, peer, time.Second)
	// One at a time: the front's readers may take datagrams that arrive
	// together in either order.
	for i, code := range []int{180, 183, 200} { // the 200 after the end: not passed up
		peerRespond(t, peer, s, inv, code, "callee")
		deadline := time.Now().Add(5 * time.Second)
		for len(rec.got()) < min(i+1, 3) && time.Now().Before(deadline) {
			time.Sleep(testT1 / 5)
		}
	}
	time.Sleep(4 * testT1)
	if got := rec.got(); !slices.Equal(got, []string{"180", "183", "ended"}) {
		t.Fatalf("sink told %v, want [180 183 ended]", got)
	}
	if rec.nested {
		t.Fatal("the sink was called while another call was running")
	}

	// An answered INVITE: its end (Timer M) is not reported.
	rec2 := &sinkRecorder{}
	tx2, err := s.transactionTo(newInvite(s, peer), rec2)
	if err != nil {
		t.Fatal(err)
	}
	inv2, _ := peerRequest(t, peer, time.Second)
	peerRespond(t, peer, s, inv2, 200, "callee")
	// Kept for Timer M, it holds neither the leg (the sink) nor the
	// request: a call's objects are not kept 32 s after it ends.
	u2 := ourTx(t, tx2)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(testT1 / 5) {
		if len(rec2.got()) > 0 {
			break
		}
	}
	u2.mu.Lock()
	held := u2.sink != nil || u2.req != nil
	u2.mu.Unlock()
	if held {
		t.Fatal("the answered INVITE's transaction still holds its sink or request")
	}
	select {
	case <-tx2.Done(): // Timer M: 64·T1
	case <-time.After(10 * time.Second):
		t.Fatal("the answered INVITE's transaction did not end")
	}
	time.Sleep(testT1)
	if got := rec2.got(); !slices.Equal(got, []string{"200"}) {
		t.Fatalf("sink told %v, want [200]", got)
	}
}

// ByeThen sends the BYE and hands its outcome to done once, from the
// reader that received the 200 (a retransmitted 200 is absorbed); a BYE
// nobody answers ends at Timer F with an error.
func TestUDPClientByeThen(t *testing.T) {
	s, peer, o := answeredLeg(t)
	outcomes := make(chan error, 4)
	o.ByeThen(func(err error) { outcomes <- err })
	bye, _ := peerRequest(t, peer, time.Second)
	if bye.Method != sip.BYE {
		t.Fatalf("got %s, want BYE", bye.Method)
	}
	ok := peerRespond(t, peer, s, bye, 200, "")
	succeedsWithin(t, outcomes, "ByeThen after the 200")
	sendTo(t, peer, s, string(ok)) // retransmitted: absorbed, done not called again
	select {
	case err := <-outcomes:
		t.Fatalf("done called twice (%v)", err)
	case <-time.After(5 * testT1):
	}

	start := time.Now()
	o.ByeThen(func(err error) { outcomes <- err }) // never answered
	endsAtTimerF(t, start, outcomes, "ByeThen")
}
