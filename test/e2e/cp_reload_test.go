package e2e

// Calling Plan, hot reload of the operator configuration (issue 5 scope
// item 1): the server config file changes under a running server, SIGHUP
// or `switchboard reload` applies it for the next call while a call in
// progress goes on; an invalid file is refused with FILE:LINE and changes
// nothing.

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpRewrite applies edits (old → new) to the rig's config file in place.
func (r *cpRig) cpRewrite(t *testing.T, edits ...string) string {
	t.Helper()
	b, err := os.ReadFile(r.config)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("the config file no longer contains %q:\n%s", edits[i], s)
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	if err := os.WriteFile(r.config, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// lineOf is the 1-based line of the first line of s containing sub.
func lineOf(t *testing.T, s, sub string) int {
	t.Helper()
	for i, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", sub)
	return 0
}

// cpStartDial starts alice's call to number talking for talk, without
// waiting for it: requireOK waits.
func cpStartDial(t *testing.T, s *server, number string, talk time.Duration) *sippProc {
	t.Helper()
	o := sippOpts{Name: "alice-long-" + strings.TrimPrefix(number, "+"), Scenario: "uac.xml", Remote: s.SIP,
		PauseMS: int(talk / time.Millisecond), Keys: [][2]string{rtpStreamKey(t)}, Calls: 1,
		Timeout: talk + 60*time.Second, RecvTimeout: 15 * time.Second}
	o.CSV = []string{callerLine("alice", domain, alicePassword, number)}
	o.AuthURI = number + "@" + domain
	return startSipp(t, o)
}

func TestCPReload(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	r := startCP(t, "cp_carrier.xml", "cp_carrier.xml", cpTenant(cpAllowGB, ""))
	cpTopUp(t, r.s, "1")

	// A call in progress through carrier-a, the carrier the reload removes.
	talk := 3*cpMinute - time.Second // 3 billed minutes
	long := cpStartDial(t, r.s, usNumber, talk)
	waitFor(t, 10*time.Second, 50*time.Millisecond, "the long call at carrier-a", func() (bool, string) {
		return len(cpInvites(r.a)) == 1, fmt.Sprint(cpInvites(r.a))
	})

	// carrier-a goes, the +44 rate rises, logLevel changes (needs a restart).
	r.cpRewrite(t,
		"    - {name: carrier-a,", "    # carrier-a removed\n    - {name: carrier-x,",
		`countries: [US, CA], priority: 1}`, `countries: [CA], priority: 1}`,
		`perMinute: 0.023`, `perMinute: 0.05`,
		"callingPlan:\n", "logLevel: debug\ncallingPlan:\n")
	// carrier-x takes carrier-a's place for CA only: US calls go to carrier-b.
	r.s.Log.Mark("SIGHUP")
	if err := r.s.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, 50*time.Millisecond, "the reload logged", func() (bool, string) {
		return r.s.Log.Contains("configuration reloaded"), "not yet"
	})
	for _, want := range []string{"carrier carrier-x added", "carrier carrier-a removed", "rate +44: 0.023 → 0.05", "logLevel"} {
		if !r.s.Log.Contains(want) {
			t.Errorf("the reload log does not mention %q", want)
		}
	}

	// The next calls use the new configuration, without a restart.
	cpDial(t, r.s, "+12065550101", time.Second, 0)
	if got := cpInvites(r.b); len(got) != 1 || !strings.HasPrefix(got[0], "INVITE sip:+12065550101@"+cpCarrierBIP) {
		t.Fatalf("carrier-b got %q, want the US call after carrier-a was removed", got)
	}
	if n := len(cpInvites(r.a)); n != 1 {
		t.Fatalf("carrier-a got %d INVITEs, want only the call from before the reload", n)
	}
	cpDial(t, r.s, gbNumber, cpScaled(30*time.Second), 0) // one minute at the new rate
	waitFor(t, 10*time.Second, 100*time.Millisecond, "one minute at 0.05 debited", func() (bool, string) {
		b := cpBalance(t, r.s)
		return b == "0.95", "balance " + b
	})

	// The call in progress was not cut: it ends when the caller hangs up.
	long.requireOK(t)
	c := cpWaitCDR(t, r.s, usNumber)
	if c.Result != "answered" || c.HangupBy == "system" || c.Duration < talk.Seconds()-1 {
		t.Errorf("CDR of the call in progress = %+v, want answered, about %vs, not hung up by the system", c, talk.Seconds())
	}
	cpWaitUsed(t, r.s, 4) // 3 minutes + 1 for the US call after the reload

	// The API: nothing more changed, logLevel still needs a restart.
	out, err := r.s.cli(t, "reload")
	if err != nil || !strings.Contains(string(out), "no change to the Calling Plan") ||
		!strings.Contains(string(out), "needs restart: logLevel") {
		t.Errorf("switchboard reload = %s, %v", out, err)
	}

	// An invalid file: refused with FILE:LINE, nothing changes.
	bad := r.cpRewrite(t, `perMinute: 0.05`, `perMinute: -1`, `countries: [CA], priority: 1}`, `countries: [CA], priority: -1}`)
	out, err = r.s.cli(t, "reload")
	wantLines := []string{
		fmt.Sprintf("%s:%d: callingPlan.carriers[0].priority:", r.config, lineOf(t, bad, "carrier-x")),
		fmt.Sprintf("%s:%d: callingPlan.rates[0].perMinute:", r.config, lineOf(t, bad, "perMinute: -1")),
	}
	if err == nil {
		t.Fatalf("reload of an invalid file succeeded: %s", out)
	}
	for _, w := range wantLines {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("reload error lacks %q:\n%v", w, err)
		}
	}
	r.s.Log.Mark("SIGHUP (invalid file)")
	if err := r.s.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, 50*time.Millisecond, "the refusal logged with FILE:LINE", func() (bool, string) {
		return len(r.s.Log.Grep(wantLines[1], false)) > 0, "not yet"
	})
	cpDial(t, r.s, gbNumber, cpScaled(30*time.Second), 0) // still the rate of the last valid file
	waitFor(t, 10*time.Second, 100*time.Millisecond, "another minute at 0.05", func() (bool, string) {
		b := cpBalance(t, r.s)
		return b == "0.9", "balance " + b
	})

	// A range cannot go while a tenant holds a number of it.
	r.cpRewrite(t, `perMinute: -1`, `perMinute: 0.05`, `countries: [CA], priority: -1}`, `countries: [CA], priority: 1}`)
	if out, err := r.s.cli(t, "numbers", "acquire", "--tenant", "contoso", "+14255550007"); err != nil {
		t.Fatalf("acquire: %s %v", out, err)
	}
	bad = r.cpRewrite(t, `    - {country: US, areaCode: "425", range: "+14255550000-+14255550999", type: user}`+"\n", "")
	out, err = r.s.cli(t, "reload")
	want := fmt.Sprintf("%s:%d: callingPlan.numberInventory: no range holds +14255550007 (tenant contoso)", r.config,
		lineOf(t, bad, "numberInventory:"))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("reload removing a range in use = %s, %v; want %q\n%s", out, err, want, bad)
	}
}
