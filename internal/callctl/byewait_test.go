package callctl

import (
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestByeWaitRecordsFirst: when ByeWait returns, the call's CDR is already
// recorded (the SIP adapter answers the BYE only then); on a call that is
// over it returns at once.
func TestByeWaitRecordsFirst(t *testing.T) {
	r := answeredCall(t, Config{}, fakeMedia{})
	w, ok := r.ev.(interface{ ByeWait() })
	if !ok {
		t.Fatal("the call's events have no ByeWait")
	}
	w.ByeWait()
	c, ok := r.rec.last()
	if !ok || c.Result != pbx.ResultAnswered || c.HangupBy != pbx.PartyCaller {
		t.Fatalf("after ByeWait: cdr %+v (recorded %v), want answered, hung up by the caller", c, ok)
	}
	w.ByeWait() // the call is over: returns at once
	if n := len(r.rec.cdrs); n != 1 {
		t.Errorf("%d CDRs, want 1", n)
	}
}

// TestByeReplyRecordsFirst: ByeReply's reply runs once the CDR is
// recorded — before ByeReply returns when the call is idle, after the
// loop gets to it when the call is busy — and at once on a call that is
// over; never twice.
func TestByeReplyRecordsFirst(t *testing.T) {
	r := answeredCall(t, Config{}, fakeMedia{})
	w, ok := r.ev.(interface{ ByeReply(func()) })
	if !ok {
		t.Fatal("the call's events have no ByeReply")
	}
	replies := 0
	var atReply pbx.CDR
	w.ByeReply(func() { replies++; atReply, _ = r.rec.last() })
	if replies != 1 {
		t.Fatalf("%d replies before ByeReply returned on an idle call, want 1", replies)
	}
	if atReply.Result != pbx.ResultAnswered || atReply.HangupBy != pbx.PartyCaller {
		t.Fatalf("at the reply: cdr %+v, want answered, hung up by the caller", atReply)
	}
	again := make(chan struct{})
	w.ByeReply(func() { close(again) }) // the call is over: at once
	select {
	case <-again:
	default:
		t.Fatal("no reply at once on a call that is over")
	}
	if replies != 1 {
		t.Fatalf("%d replies, want 1", replies)
	}
}

// TestByeReplyWaitsForABusyLoop: with the call's loop busy, the reply
// comes once the loop has run the BYE, from the loop's goroutine.
func TestByeReplyWaitsForABusyLoop(t *testing.T) {
	r := answeredCall(t, Config{}, fakeMedia{})
	c := r.ev.(*call)
	block, started := make(chan struct{}), make(chan struct{})
	go c.post(func() { close(started); <-block })
	<-started
	replied := make(chan bool, 2)
	c.ByeReply(func() { _, ok := r.rec.last(); replied <- ok })
	select {
	case <-replied:
		t.Fatal("replied before the loop ran the BYE")
	default:
	}
	close(block)
	select {
	case recorded := <-replied:
		if !recorded {
			t.Fatal("replied before the CDR was recorded")
		}
	case <-time.After(byeWaitMax + time.Second):
		t.Fatal("no reply after the loop ran the BYE")
	}
	time.Sleep(50 * time.Millisecond)
	if len(replied) != 0 {
		t.Fatal("replied twice")
	}
}
