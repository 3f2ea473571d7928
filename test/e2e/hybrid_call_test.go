package e2e

// Hybrid (issue 6 acceptance): a cloud user calls an edge user by
// extension and the reverse; both ring and talk, RTP flows end to end
// through both nodes' relays. A phone registering at the wrong node is
// redirected to its home.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestHybridCallsBothWays(t *testing.T) {
	t.Parallel()
	p := startHybrid(t, func(edgeSIP string) string { return hybridDoc(edgeSIP, "", "") })

	// The phones echo RTP: callee_to_caller packets at the caller's node
	// crossed both relays and the trunk twice (end to end).
	phone(t, p.edge, "bob", bobPassword, 5*time.Minute)      // homed on the edge
	phone(t, p.cloud, "alice", alicePassword, 5*time.Minute) // homed online

	type counters struct{ c2e, e2c float64 }
	read := func(s *server) counters {
		a, b := mediaPackets(t, s)
		return counters{a, b}
	}
	flowed := func(t *testing.T, s *server, before counters, name string) {
		t.Helper()
		waitFor(t, 10*time.Second, 50*time.Millisecond, "media relayed both ways at the "+name, func() (bool, string) {
			now := read(s)
			return now.c2e > before.c2e && now.e2c > before.e2c,
				fmt.Sprintf("caller_to_callee +%v, callee_to_caller +%v", now.c2e-before.c2e, now.e2c-before.e2c)
		})
	}

	t.Run("cloud user alice calls edge user bob by extension", func(t *testing.T) {
		cloud0, edge0 := read(p.cloud), read(p.edge)
		callAs(t, p.cloud, "alice", alicePassword, "1002", sippOpts{PauseMS: 2000,
			Keys: [][2]string{rtpStreamKey(t)}}).requireOK(t)
		flowed(t, p.cloud, cloud0, "cloud")
		flowed(t, p.edge, edge0, "edge")
		var c hybridCDR
		waitFor(t, 10*time.Second, 100*time.Millisecond, "cloud CDR of alice's call", func() (bool, string) {
			for _, x := range p.cloud.hybridCDRs(t) {
				if x.Dialed == "1002@contoso.com" || x.Dialed == "1002" {
					c = x
					return true, ""
				}
			}
			return false, "none yet"
		})
		if c.Result != "answered" || c.Callee != "bob@contoso.com" || c.Via != "edge" {
			t.Errorf("cloud CDR = %+v, want answered, callee bob, via edge", c)
		}
	})

	t.Run("edge user bob calls cloud user alice by extension", func(t *testing.T) {
		cloud0, edge0 := read(p.cloud), read(p.edge)
		callAs(t, p.edge, "bob", bobPassword, "1001", sippOpts{PauseMS: 2000,
			Keys: [][2]string{rtpStreamKey(t)}}).requireOK(t)
		flowed(t, p.edge, edge0, "edge")
		flowed(t, p.cloud, cloud0, "cloud")
	})

	t.Run("by SIP address and by number too", func(t *testing.T) {
		callAs(t, p.cloud, "alice", alicePassword, "bob", sippOpts{Name: "alice-bob-by-name", PauseMS: 500}).requireOK(t)
		callAs(t, p.edge, "bob", bobPassword, "+14255550101", sippOpts{Name: "bob-alice-by-number", PauseMS: 500}).requireOK(t)
	})

	t.Run("a phone registering at the wrong node is redirected home", func(t *testing.T) {
		for _, tc := range []struct {
			s          *server
			user, pw   string
			home, name string
		}{
			{p.cloud, "carol", carolPassword, p.edge.SIP, "carol-at-cloud"},
			{p.edge, "alice", alicePassword, p.cloud.SIP, "alice-at-edge"},
		} {
			r := runSipp(t, sippOpts{Name: tc.name, Scenario: "hy_register_redirect.xml", Remote: tc.s.SIP,
				CSV: []string{registerLine(tc.user, domain, tc.pw)}, Calls: 1, AuthURI: domain,
				Timeout: 30 * time.Second, RecvTimeout: 10 * time.Second})
			r.requireOK(t)
			line := r.waitLog(t, "redirected to", 5*time.Second)
			if !strings.Contains(line, tc.home) {
				t.Errorf("%s: %q, want a Contact at %s", tc.name, line, tc.home)
			}
		}
		if p.cloud.registered(t, "carol@contoso.com") || p.edge.registered(t, "alice@contoso.com") {
			t.Error("a redirected REGISTER left a binding")
		}
	})
}
