package e2e

// Hybrid survivability (issue 6 acceptance): the cloud process is stopped;
// within 10 s the edge is survivable; a call in progress between two local
// users is not dropped; local users call each other; a cloud user's phone
// at the site registers to the edge and calls. The cloud returns: the edge
// reconnects and the CDRs it made offline appear in the cloud exactly once.

import (
	"fmt"
	"testing"
	"time"
)

func TestHybridSurvivability(t *testing.T) {
	t.Parallel()
	p := startHybrid(t, func(edgeSIP string) string { return hybridDoc(edgeSIP, "", "") })
	phone(t, p.edge, "bob", bobPassword, 5*time.Minute)

	// A call between two edge users, in progress across the outage.
	long := callAs(t, p.edge, "carol", carolPassword, "1002", sippOpts{Name: "carol-bob-across-the-outage",
		PauseMS: 20000, Timeout: 90 * time.Second, RecvTimeout: 30 * time.Second})
	waitFor(t, 10*time.Second, 50*time.Millisecond, "the long call answered", func() (bool, string) {
		return p.edge.Log.Contains("call answered"), "not yet"
	})

	stopped := time.Now()
	p.cloud.stop(t)
	p.waitMode(t, "survivable", 10*time.Second)
	t.Logf("edge survivable %v after the cloud stopped", time.Since(stopped).Round(100*time.Millisecond))
	if v := p.edge.metric(t, "switchboard_hybrid_mode", map[string]string{"mode": "survivable"}); v != 1 {
		t.Errorf("switchboard_hybrid_mode{mode=survivable} = %v, want 1", v)
	}

	t.Run("local users call each other", func(t *testing.T) {
		callAs(t, p.edge, "carol", carolPassword, "1002", sippOpts{Name: "carol-bob-offline", PauseMS: 1000}).requireOK(t)
	})
	t.Run("a cloud user registers at the edge and calls", func(t *testing.T) {
		phone(t, p.edge, "alice", alicePassword, 5*time.Minute) // fallback registration
		callAs(t, p.edge, "alice", alicePassword, "1002", sippOpts{Name: "alice-bob-offline", PauseMS: 1000}).requireOK(t)
		callAs(t, p.edge, "bob", bobPassword, "1001", sippOpts{Name: "bob-alice-offline", PauseMS: 1000}).requireOK(t)
	})
	long.requireOK(t) // its BYE went through: the call outlived the outage

	// Every CDR the edge made offline, by Call-ID (CDRs are written in
	// batches: the last call's may land a moment after its BYE).
	offline := map[string]bool{}
	waitFor(t, 10*time.Second, 100*time.Millisecond, "the edge's 4 offline CDRs", func() (bool, string) {
		for _, c := range p.edge.hybridCDRs(t) {
			offline[c.CallID] = true
		}
		return len(offline) >= 4, fmt.Sprintf("%d CDRs", len(offline))
	})
	if st, _ := p.edge.status(t); st.PendingCDRs < len(offline) {
		t.Errorf("pending CDRs = %d, want at least %d", st.PendingCDRs, len(offline))
	}

	p.cloud.start(t)
	p.waitMode(t, "connected", 15*time.Second)
	p.waitEdgeStatus(t, "connected", 15*time.Second)
	waitFor(t, 15*time.Second, 100*time.Millisecond, "CDR queue empty", func() (bool, string) {
		st, err := p.edge.status(t)
		if err != nil {
			return false, err.Error()
		}
		return st.PendingCDRs == 0, fmt.Sprintf("%d pending", st.PendingCDRs)
	})
	seen := map[string]int{}
	waitFor(t, 10*time.Second, 100*time.Millisecond, "the offline CDRs in the cloud", func() (bool, string) {
		clear(seen)
		for _, c := range p.cloud.hybridCDRs(t) {
			seen[c.CallID]++
		}
		for id := range offline {
			if seen[id] == 0 {
				return false, "missing " + id
			}
		}
		return true, ""
	})
	for id := range offline {
		if seen[id] != 1 {
			t.Errorf("offline CDR %s is in the cloud %d times, want exactly once", id, seen[id])
		}
	}
	// The fallback registration of the cloud user went home with the link.
	waitFor(t, 5*time.Second, 100*time.Millisecond, "alice's fallback registration dropped", func() (bool, string) {
		return !p.edge.registered(t, "alice@contoso.com"), "still registered at the edge"
	})
}
