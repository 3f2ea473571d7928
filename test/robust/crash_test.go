package robust

import (
	"testing"
	"time"
)

// TestCrash (issue 9 item 10): kill -9 the server under a call load and
// restart it on the same data dir and ports. The store opens (the server
// starts, `switchboard cdr -o json` parses), the configuration and bob's
// registration survived (a new call reaches bob without him registering
// again), and no CDR is half-written (each has start, end and result).
func TestCrash(t *testing.T) {
	needTool(t, "sip-tester", "sipp")
	s := prepareServer(t)
	s.launch(t)
	s.apply(t, contosoDoc)
	calleeBob(t, s, 0, 3*time.Minute)

	caller := aliceCalls(t, s, "caller-load", 2000, 20, 0, 90*time.Second)
	waitFor(t, 60*time.Second, 200*time.Millisecond, "calls completed before the crash", func() (bool, string) {
		ok, _ := caller.counts(t)
		return ok >= 50, "not yet"
	})
	s.crash(t)
	caller.stop(t)
	before, _ := caller.counts(t)
	t.Logf("killed the server after %d completed calls", before)

	s.launch(t)
	cdrs := s.cdrs(t, 5000)
	if len(cdrs) < before {
		t.Errorf("%d CDRs after the restart, want at least the %d calls completed before the crash", len(cdrs), before)
	}
	for _, c := range cdrs {
		if c.Start == "" || c.End == "" || c.Result == "" {
			t.Errorf("half-written CDR: %+v", c)
		}
	}

	after := aliceCalls(t, s, "caller-after", 1, 1, 0, 30*time.Second)
	if ok, failed := after.wait(t); ok != 1 {
		t.Fatalf("call to the registered bob after the restart: %d successful, %d failed", ok, failed)
	}
	s.waitIdle(t, 30*time.Second)
}
