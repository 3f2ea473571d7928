package signaling

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/directory"
)

// fakeClientTx is an INVITE client transaction that records Terminate.
type fakeClientTx struct {
	once sync.Once
	done chan struct{}
}

func (t *fakeClientTx) Terminate()                             { t.once.Do(func() { close(t.done) }) }
func (t *fakeClientTx) OnTerminate(sip.FnTxTerminate) bool     { return true }
func (t *fakeClientTx) Done() <-chan struct{}                  { return t.done }
func (t *fakeClientTx) Err() error                             { return nil }
func (t *fakeClientTx) Responses() <-chan *sip.Response        { return nil }
func (t *fakeClientTx) OnRetransmission(sip.FnTxResponse) bool { return true }

var _ sip.ClientTransaction = (*fakeClientTx)(nil)

// legRecorder records the callee leg's events.
type legRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *legRecorder) add(e string) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *legRecorder) Provisional(int, string, []byte) {
	r.add("provisional")
}
func (r *legRecorder) Answered([]byte)                            { r.add("answered") }
func (r *legRecorder) Failed(code int, _ string)                  { r.add(fmt.Sprintf("failed %d", code)) }
func (r *legRecorder) Bye()                                       { r.add("bye") }
func (r *legRecorder) ReInvite(_ []byte, reply func(int, []byte)) { reply(488, nil) }
func (r *legRecorder) Expired(reason string)                      { r.add("expired " + reason) }
func (r *legRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func testServer(t *testing.T) *Server {
	t.Helper()
	dir := directory.Build(nil, nil)
	s, err := New(Config{Listen: "127.0.0.1:5060"}, Deps{Directory: func() *directory.Directory { return dir }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.ua.Close() })
	return s
}

func byeFor(t *testing.T, callID string) *sip.Request {
	t.Helper()
	raw := "BYE sip:sb@127.0.0.1:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye-1\r\n" +
		"From: <sip:bob@example.com>;tag=callee\r\n" +
		"To: <sip:alice@example.com>;tag=caller\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}

// A BYE from the callee before its 2xx reached us (the 2xx was lost and the
// callee hung up since) ends the leg: the INVITE transaction stops and the
// call hears of a failure, instead of the leg waiting for a 2xx that will
// never come.
func TestOutboundByeBeforeAnswerEndsTheLeg(t *testing.T) {
	s := testServer(t)
	ev := &legRecorder{}
	inv := &fakeClientTx{done: make(chan struct{})}
	o := &outbound{s: s, ev: ev, callID: "early-bye", tx: inv}
	s.dialogs.put(o.callID, o)

	rtx := &benchTx{done: make(chan struct{})}
	o.onBye(byeFor(t, o.callID), rtx)

	if rtx.code != 200 {
		t.Fatalf("BYE answered %d, want 200", rtx.code)
	}
	select {
	case <-inv.Done():
	case <-time.After(time.Second):
		t.Fatal("the INVITE transaction was not terminated")
	}
	if got := ev.got(); len(got) != 1 || got[0] != "failed 480" {
		t.Fatalf("leg events %v, want [failed 480]", got)
	}
	// A retransmitted BYE is answered again and reported no more.
	o.onBye(byeFor(t, o.callID), rtx)
	if got := ev.got(); len(got) != 1 {
		t.Fatalf("leg events after a second BYE %v, want one failure", got)
	}
}

// A BYE in the confirmed dialog is the callee hanging up.
func TestOutboundByeAfterAnswer(t *testing.T) {
	s := testServer(t)
	ev := &legRecorder{}
	inv := &fakeClientTx{done: make(chan struct{})}
	o := &outbound{s: s, ev: ev, callID: "confirmed-bye", tx: inv, confirmed: true}

	rtx := &benchTx{done: make(chan struct{})}
	o.onBye(byeFor(t, o.callID), rtx)
	if rtx.code != 200 {
		t.Fatalf("BYE answered %d, want 200", rtx.code)
	}
	if got := ev.got(); len(got) != 1 || got[0] != "bye" {
		t.Fatalf("leg events %v, want [bye]", got)
	}
	select {
	case <-inv.Done():
		t.Fatal("the INVITE transaction of a confirmed leg was terminated")
	default:
	}
}

// A cancelled INVITE that never gets its final response (the callee
// answered the CANCEL, or nothing at all) is given up, and the leg leaves
// the dialog table without reporting anything more to the call.
func TestOutboundCancelledInviteGivenUp(t *testing.T) {
	s := testServer(t)
	ev := &legRecorder{}
	inv := &fakeClientTx{done: make(chan struct{})}
	o := &outbound{s: s, ev: ev, callID: "cancelled-no-487", tx: inv, silenced: true, cancelWanted: true, gen: 1}
	s.dialogs.put(o.callID, o)
	read := make(chan struct{})
	go func() { pump(inv, inviteSink{o: o, gen: 1}); close(read) }()

	o.giveUpAfter(10 * time.Millisecond)
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("the leg still follows its INVITE transaction")
	}
	if n := s.dialogs.Len(); n != 0 {
		t.Fatalf("%d dialogs left, want 0", n)
	}
	if got := ev.got(); len(got) != 0 {
		t.Fatalf("a cancelled leg reported %v", got)
	}
}

// A cancelled INVITE that gets its final response in time: giveUpAfter
// returns with the transaction, not at its deadline.
func TestOutboundGiveUpNotNeeded(t *testing.T) {
	s := testServer(t)
	inv := &fakeClientTx{done: make(chan struct{})}
	o := &outbound{s: s, ev: &legRecorder{}, callID: "cancelled-487", tx: inv}
	returned := make(chan struct{})
	go func() { o.giveUpAfter(time.Hour); close(returned) }()
	inv.Terminate() // the 487 came
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("giveUpAfter still waits although the transaction has ended")
	}
}
