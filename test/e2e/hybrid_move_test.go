package e2e

// Hybrid moves (issue 6 acceptance): `users move` of a registered user is
// effective within 5 s on both sides: the old home tells their phone to
// re-register (NOTIFY, Event: check-sync), drops their bindings and
// redirects the re-REGISTER to the new home; calls reach them there.

import (
	"strings"
	"testing"
	"time"
)

func TestHybridUserMove(t *testing.T) {
	t.Parallel()
	p := startHybrid(t, func(edgeSIP string) string { return hybridDoc(edgeSIP, "", "") })
	// bob's phone: registers at the edge, answers calls, and acts on the
	// old home's check-sync NOTIFY by re-registering (hy_moved_phone.xml).
	bobPhone := startSipp(t, sippOpts{
		Name: "phone-bob-moved", Scenario: "hy_moved_phone.xml", OOC: "uas.xml", Remote: p.edge.SIP,
		CSV: []string{registerLine("bob", domain, bobPassword)}, Calls: 1, AuthURI: domain, RTPEcho: true,
		Timeout: 5 * time.Minute, RecvTimeout: time.Minute,
	})
	bobPhone.waitLog(t, "registered bob@"+domain, 20*time.Second)
	callAs(t, p.cloud, "alice", alicePassword, "1002", sippOpts{Name: "to-bob-at-the-edge", PauseMS: 500}).requireOK(t)

	out, err := p.cloud.cli(t, "users", "move", "bob@contoso.com", "--to", "online")
	if err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	if !strings.Contains(string(out), "from redmond to online") {
		t.Errorf("users move printed %q", out)
	}
	waitFor(t, 5*time.Second, 50*time.Millisecond, "the edge drops bob's registration", func() (bool, string) {
		return !p.edge.registered(t, "bob@contoso.com"), "still registered at the edge"
	})
	t.Logf("the edge applied the move %v after it", time.Since(moved).Round(10*time.Millisecond))

	// The old home told the phone (NOTIFY check-sync) within the 5 s, and
	// the phone's immediate re-REGISTER was redirected to the new home.
	if line := bobPhone.waitLog(t, "notified ", time.Until(moved.Add(5*time.Second))); !strings.Contains(line, "check-sync") {
		t.Errorf("bob's phone was notified %q, want Event: check-sync", line)
	}
	t.Logf("bob's phone got the check-sync NOTIFY %v after the move", time.Since(moved).Round(10*time.Millisecond))
	if line := bobPhone.waitLog(t, "redirected to", 10*time.Second); !strings.Contains(line, p.cloud.SIP) {
		t.Errorf("bob's re-REGISTER was redirected to %q, want the cloud %s", line, p.cloud.SIP)
	}
	bobPhone.requireOK(t)

	// bob's phone is sent home, registers there and calls follow.
	r := runSipp(t, sippOpts{Name: "bob-at-the-old-home", Scenario: "hy_register_redirect.xml", Remote: p.edge.SIP,
		CSV: []string{registerLine("bob", domain, bobPassword)}, Calls: 1, AuthURI: domain,
		Timeout: 30 * time.Second, RecvTimeout: 10 * time.Second})
	r.requireOK(t)
	if line := r.waitLog(t, "redirected to", 5*time.Second); !strings.Contains(line, p.cloud.SIP) {
		t.Errorf("the edge redirected bob to %q, want the cloud %s", line, p.cloud.SIP)
	}
	phone(t, p.cloud, "bob", bobPassword, 5*time.Minute)
	callAs(t, p.edge, "carol", carolPassword, "1002", sippOpts{Name: "edge-to-bob-at-the-cloud", PauseMS: 500}).requireOK(t)
	callAs(t, p.cloud, "alice", alicePassword, "1002", sippOpts{Name: "cloud-to-bob-at-the-cloud", PauseMS: 500}).requireOK(t)
	t.Logf("calls reached bob at his new home %v after the move", time.Since(moved).Round(10*time.Millisecond))

	// Back to the edge: now the cloud drops him at once.
	if _, err := p.cloud.cli(t, "users", "move", "bob@contoso.com", "--to", "redmond"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, 50*time.Millisecond, "the cloud drops bob's registration", func() (bool, string) {
		return !p.cloud.registered(t, "bob@contoso.com"), "still registered at the cloud"
	})
	// Moving to an unknown home is refused, naming the field.
	if out, err := p.cloud.cli(t, "users", "move", "bob@contoso.com", "--to", "paris"); err == nil ||
		!strings.Contains(err.Error(), "paris") {
		t.Errorf("move to an unknown edge: %v %s", err, out)
	}
}
