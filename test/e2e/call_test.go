package e2e

// Calls through a real Switchboard: SIPp peers on loopback, the contract of
// issue 2 (registrar, B2BUA, media relay, CDRs, restart, leaks).

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// newContoso starts a server and provisions the contoso tenant.
func newContoso(t *testing.T) *server {
	t.Helper()
	s := startServer(t)
	s.apply(t, contosoDoc)
	return s
}

// registerCallee starts a SIPp that registers bob from its own socket and
// answers the calls Switchboard sends there with the out-of-call scenario
// ooc (uas.xml, uas_busy.xml, uas_ring.xml). It echoes RTP and stays up for
// life, or until the test ends.
func registerCallee(t *testing.T, s *server, ooc string, life time.Duration) *sippProc {
	t.Helper()
	p := startSipp(t, sippOpts{
		Name: "callee-bob", Scenario: "register.xml", OOC: ooc, Remote: s.SIP,
		CSV: []string{registerLine("bob", domain, bobPassword)}, Calls: 1,
		PauseMS: int(life / time.Millisecond), AuthURI: domain, RTPEcho: true,
		Timeout: life + 30*time.Second, RecvTimeout: 10 * time.Second,
	})
	p.waitLog(t, "registered bob@contoso.com", 20*time.Second)
	return p
}

// dial runs one SIPp caller, alice, against the server to target (the user
// part of sip:<target>@contoso.com) until it ends. o supplies the rest.
func dial(t *testing.T, s *server, scen, target string, o sippOpts) *sippProc {
	t.Helper()
	o.Scenario, o.Remote = scen, s.SIP
	if o.Name == "" {
		o.Name = "caller-" + strings.TrimPrefix(target, "+")
	}
	o.CSV = []string{callerLine("alice", domain, alicePassword, target)}
	o.AuthURI = target + "@" + domain
	if o.Calls == 0 {
		o.Calls = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.RecvTimeout == 0 {
		o.RecvTimeout = 15 * time.Second
	}
	return runSipp(t, o)
}

// checkCDR asserts the fields every CDR of alice calling bob shares.
func checkCDR(t *testing.T, c cdr, result string, cause int) {
	t.Helper()
	if c.Tenant != "contoso" {
		t.Errorf("CDR tenant = %q, want contoso: %v", c.Tenant, c)
	}
	if !strings.Contains(c.Caller, "alice") && !strings.Contains(c.Caller, "+14255550101") {
		t.Errorf("CDR caller = %q, want alice: %v", c.Caller, c)
	}
	if c.Result != result || int(c.Cause) != cause {
		t.Errorf("CDR result/cause = %s/%d, want %s/%d: %v", c.Result, c.Cause, result, cause, c)
	}
	if c.Start == "" || c.End == "" {
		t.Errorf("CDR without start or end: %v", c)
	}
}

// cdrFor matches the first CDR whose dialled string is target and whose
// Call-ID is not in seen.
func cdrFor(target string, seen map[string]bool) func(cdr) bool {
	return func(c cdr) bool {
		return !seen[c.CallID] && dialedMatches(c.Dialed, target)
	}
}

// dialedMatches accepts the dialled string as typed or as a URI.
func dialedMatches(dialed, target string) bool {
	return dialed == target || strings.HasPrefix(dialed, target+"@") ||
		strings.Contains(dialed, ":"+target+"@") || strings.HasPrefix(dialed, "sip:"+target)
}

func TestRegisterAndCall(t *testing.T) {
	t.Parallel()
	s := newContoso(t)
	callee := registerCallee(t, s, "uas.xml", 5*time.Minute)
	seen := map[string]bool{}

	for _, target := range []string{"1002", "bob", "+14255550102"} {
		t.Run("to "+target, func(t *testing.T) {
			c2e0, e2c0 := mediaPackets(t, s)
			dial(t, s, "uac.xml", target, sippOpts{
				PauseMS: 2000, Keys: [][2]string{rtpStreamKey(t)},
			}).requireOK(t)

			// Counters may be updated just after the BYE; poll.
			waitFor(t, 10*time.Second, 50*time.Millisecond, "media relayed both ways", func() (bool, string) {
				c2e, e2c := mediaPackets(t, s)
				return c2e > c2e0 && e2c > e2c0, fmt.Sprintf("caller_to_callee +%v, callee_to_caller +%v", c2e-c2e0, e2c-e2c0)
			})

			c := s.waitCDR(t, "answered call to "+target, cdrFor(target, seen))
			seen[c.CallID] = true
			checkCDR(t, c, "answered", 200)
			if !strings.Contains(c.Callee, "bob") && !strings.Contains(c.Callee, "+14255550102") {
				t.Errorf("CDR callee = %q, want bob: %v", c.Callee, c)
			}
			if c.Answer == "" || c.DurationSeconds < 1 {
				t.Errorf("answered CDR without answer time or with duration %v < 1s for a 2s call: %v", c.DurationSeconds, c)
			}
			if h := strings.ToLower(c.HangupBy); h != "caller" && !strings.Contains(h, "alice") {
				t.Errorf("CDR hangupBy = %q, want the caller (alice sent the BYE): %v", c.HangupBy, c)
			}
		})
	}

	callee.stop(t)
	if n := callee.echoedPackets(t); n == 0 {
		t.Error("the callee received no RTP through the relay")
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s := newContoso(t)
	registerCallee(t, s, "uas_ring.xml", 3*time.Minute)
	dial(t, s, "uac_cancel.xml", "1002", sippOpts{PauseMS: 500}).requireOK(t)
	checkCDR(t, s.waitCDR(t, "cancelled call", cdrFor("1002", nil)), "cancelled", 487)
}

func TestBusy(t *testing.T) {
	t.Parallel()
	s := newContoso(t)
	registerCallee(t, s, "uas_busy.xml", 3*time.Minute)
	dial(t, s, "uac_expect.xml", "1002", sippOpts{Sets: [][2]string{{"expect", "486"}}}).requireOK(t)
	checkCDR(t, s.waitCDR(t, "busy call", cdrFor("1002", nil)), "busy", 486)
}

func TestNotRegistered(t *testing.T) {
	t.Parallel()
	s := newContoso(t) // bob exists but has no registered device
	dial(t, s, "uac_expect.xml", "1002", sippOpts{Sets: [][2]string{{"expect", "480"}}}).requireOK(t)
	checkCDR(t, s.waitCDR(t, "call to an unregistered user", cdrFor("1002", nil)), "unavailable", 480)
}

func TestUnknownNumber(t *testing.T) {
	t.Parallel()
	s := newContoso(t)
	for _, target := range []string{"+14255559999", "9999", "nobody"} {
		t.Run("to "+target, func(t *testing.T) {
			dial(t, s, "uac_expect.xml", target, sippOpts{Sets: [][2]string{{"expect", "404"}}}).requireOK(t)
			checkCDR(t, s.waitCDR(t, "call to "+target, cdrFor(target, nil)), "not-found", 404)
		})
	}
}

func TestRestartKeepsRegistration(t *testing.T) {
	t.Parallel()
	s := newContoso(t)
	callee := registerCallee(t, s, "uas.xml", 5*time.Minute)

	s.stop(t) // SIGTERM: must exit cleanly
	if t.Failed() {
		t.FailNow()
	}
	s.start(t) // same data dir, ports and token

	dial(t, s, "uac.xml", "1002", sippOpts{
		PauseMS: 1000, Keys: [][2]string{rtpStreamKey(t)},
	}).requireOK(t)
	checkCDR(t, s.waitCDR(t, "call after the restart", cdrFor("1002", nil)), "answered", 200)

	if n := len(callee.logLines()); n != 1 {
		t.Errorf("the callee registered %d times, want once (before the restart)", n)
	}
}

// TestThousandCalls makes 1,000 sequential calls and checks that the
// server's goroutines and relay ports come back to their baseline.
func TestThousandCalls(t *testing.T) {
	t.Parallel()
	const calls = 1000
	s := newContoso(t)
	registerCallee(t, s, "uas.xml", 15*time.Minute)
	rtp := [][2]string{rtpStreamKey(t)}

	// One call first, so lazily started goroutines are in the baseline.
	dial(t, s, "uac.xml", "1002", sippOpts{Name: "warm-up", PauseMS: 100, Keys: rtp}).requireOK(t)
	waitFor(t, 2*time.Minute, 250*time.Millisecond, "relay ports released after the first call", func() (bool, string) {
		n := s.metric(t, "switchboard_media_ports_in_use", nil)
		return n == 0, fmt.Sprintf("switchboard_media_ports_in_use = %v", n)
	})
	baseline := s.metric(t, "go_goroutines", nil)
	c2e0, e2c0 := mediaPackets(t, s)
	t.Logf("baseline: %v goroutines", baseline)

	dial(t, s, "uac.xml", "1002", sippOpts{
		Name: "caller-x1000", Calls: calls, Limit: 1, Rate: 50, PauseMS: 40, Keys: rtp,
		Timeout: 12 * time.Minute, RecvTimeout: 10 * time.Second, NoMsgTrace: true,
	}).requireOK(t)

	c2e, e2c := mediaPackets(t, s)
	if c2e <= c2e0 || e2c <= e2c0 {
		t.Errorf("no media relayed during the run: caller_to_callee +%v, callee_to_caller +%v", c2e-c2e0, e2c-e2c0)
	}

	// Transactions linger for up to 32 s (RFC 3261 timers) and ports may be
	// quarantined; poll until both are back.
	const slack = 10
	waitFor(t, 3*time.Minute, 500*time.Millisecond, "goroutines and relay ports back to baseline", func() (bool, string) {
		ports := s.metric(t, "switchboard_media_ports_in_use", nil)
		g := s.metric(t, "go_goroutines", nil)
		return ports == 0 && g <= baseline+slack,
			fmt.Sprintf("%v goroutines (baseline %v + %d), %v relay ports in use", g, baseline, slack, ports)
	})
}
