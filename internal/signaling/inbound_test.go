package signaling

import (
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// countTx is an INVITE server transaction that counts the responses sent.
type countTx struct {
	mu   sync.Mutex
	sent []int
	done chan struct{}
}

func (t *countTx) Terminate()                         {}
func (t *countTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (t *countTx) Done() <-chan struct{}              { return t.done }
func (t *countTx) Err() error                         { return nil }
func (t *countTx) Acks() <-chan *sip.Request          { return nil }
func (t *countTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (t *countTx) Respond(res *sip.Response) error {
	t.mu.Lock()
	t.sent = append(t.sent, res.StatusCode)
	t.mu.Unlock()
	return nil
}
func (t *countTx) count() int { t.mu.Lock(); defer t.mu.Unlock(); return len(t.sent) }

// callerEvents records what the caller leg reports to call control.
type callerEvents struct{ legRecorder }

func (e *callerEvents) Cancel()                                    { e.add("cancel") }
func (e *callerEvents) Ack()                                       { e.add("ack") }
func (e *callerEvents) ReInvite(_ []byte, reply func(int, []byte)) { reply(488, nil) }

// answeredInbound is a call answered to a caller that never ACKs; t1 and t2,
// when not zero, replace sip.T1 and sip.T2 for its 2xx's retransmission.
func answeredInbound(t *testing.T, t1, t2 time.Duration) (*inbound, *countTx, *callerEvents) {
	t.Helper()
	s := testServer(t)
	raw := "INVITE sip:4255551234@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-inv-1\r\n" +
		"From: <sip:alice@example.com>;tag=caller\r\n" +
		"To: <sip:4255551234@example.com>\r\n" +
		"Contact: <sip:alice@127.0.0.1:9>\r\n" +
		"Call-ID: rtx-test\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetSource("127.0.0.1:9")
	tx := &countTx{done: make(chan struct{})}
	ev := &callerEvents{}
	in := &inbound{s: s, req: req, tx: tx, callID: "rtx-test", localTag: "ours", source: "127.0.0.1:9",
		finalCh: make(chan struct{}), acked: make(chan struct{}), cseq: 1, remoteTarget: req.Recipient, events: ev,
		rtxT1: t1, rtxT2: t2}
	in.st = s.newTimer(in.newRequest, in.expired)
	if err := in.Answer(nil); err != nil {
		t.Fatal(err)
	}
	return in, tx, ev
}

// The 2xx to the caller is retransmitted at T1, 2*T1... until the ACK
// comes, and not after it.
func TestInboundRetransmitsUntilAck(t *testing.T) {
	in, tx, ev := answeredInbound(t, 0, 0)
	if n := tx.count(); n != 1 {
		t.Fatalf("%d responses at answer, want 1", n)
	}
	time.Sleep(sip.T1 + 300*time.Millisecond) // one retransmission due at T1
	if n := tx.count(); n != 2 {
		t.Fatalf("%d responses after T1, want 2", n)
	}
	in.onAck(nil)
	time.Sleep(2*sip.T1 + 300*time.Millisecond) // the next would have been at 3*T1
	if n := tx.count(); n != 2 {
		t.Errorf("%d responses after the ACK, want still 2", n)
	}
	if got := ev.got(); len(got) != 1 || got[0] != "ack" {
		t.Errorf("events %v, want [ack]", got)
	}
}

// Without an ACK the retransmissions stop after 64*T1 and the call hears
// that the session is over (it sends BYE on both legs).
func TestInboundUnacknowledgedEndsTheCall(t *testing.T) {
	_, tx, ev := answeredInbound(t, 10*time.Millisecond, 40*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for len(ev.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := ev.got(); len(got) != 1 || got[0] != "bye" {
		t.Fatalf("events %v, want [bye]", got)
	}
	// 10, 20, 40, then every 40 ms up to 640 ms: about 17 retransmissions.
	if n := tx.count() - 1; n < 10 || n > 20 {
		t.Errorf("%d retransmissions in 64*T1, want about 17", n)
	}
	n := tx.count()
	time.Sleep(100 * time.Millisecond)
	if tx.count() != n {
		t.Error("retransmissions went on after giving up")
	}
}
