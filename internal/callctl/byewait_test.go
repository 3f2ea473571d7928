package callctl

import (
	"testing"

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
