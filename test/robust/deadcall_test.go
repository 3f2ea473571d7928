package robust

// Dead calls (issue 9 item 8, ADR 0005): RFC 4028 session timers on both
// legs and the RTP inactivity timeout, against SIPp peers. The server runs
// with testTimerSecondMs: 100, so a 90 s session interval lasts 9 s and a
// session whose refresher stops expires after 6 s (90 - 90/3).

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

const fastTimers = "testTimerSecondMs: \"100\"\n"

// callee registers bob with scenario as the out-of-call UAS.
func deadCallCallee(t *testing.T, s *server, uas string) *sippProc {
	t.Helper()
	p := startSipp(t, sippOpts{
		Name: "callee-bob", Scenario: "register.xml", OOC: uas, Remote: s.SIP, Port: freePort(t),
		CSV:     []string{strings.Join([]string{"bob", domain, authField("bob", bobPassword)}, ";")},
		PauseMS: 60000, AuthURI: domain, RTPEcho: true, Timeout: 90 * time.Second,
	})
	p.waitLog(t, "registered bob@"+domain, 20*time.Second)
	return p
}

func deadCallCaller(t *testing.T, s *server, scenario string, media time.Duration) *sippProc {
	t.Helper()
	return startSipp(t, sippOpts{
		Name: "caller-alice", Scenario: scenario, Remote: s.SIP, Port: freePort(t),
		CSV:     []string{strings.Join([]string{"alice", domain, authField("alice", alicePassword), "1002"}, ";")},
		AuthURI: "1002@" + domain, Timeout: 40 * time.Second,
		Keys: [][2]string{{"rtp_stream", silencePCMU(t, media) + ",1,0"}},
	})
}

// waitCDR polls the CDR CLI for the call to 1002.
func waitCDR(t *testing.T, s *server) pbx.CDR {
	t.Helper()
	var got pbx.CDR
	waitFor(t, 30*time.Second, 200*time.Millisecond, "the call's CDR", func() (bool, string) {
		out, err := s.cli(t, "cdr", "--tenant", "contoso", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		var list []pbx.CDR
		if err := json.Unmarshal(out, &list); err != nil {
			return false, err.Error()
		}
		for _, c := range list {
			if c.Dialed == "1002" || strings.HasPrefix(c.Dialed, "1002@") {
				got = c
				return true, ""
			}
		}
		return false, "no CDR yet"
	})
	return got
}

// TestSessionRefreshKeepsCallUp: the caller negotiates timers as
// refresher and refreshes every 4 s; the callee negotiates them with us
// as refresher. The call outlives its 9 s interval, the caller's refreshes
// are answered on its leg only (the callee sees none of them), we refresh
// the callee's leg ourselves, and the caller hangs up normally.
func TestSessionRefreshKeepsCallUp(t *testing.T) {
	s := startServerConfig(t, "", fastTimers+"sessionExpires: \"90\"\n")
	s.apply(t, contosoDoc)
	callee := deadCallCallee(t, s, "st_uas_timer.xml")
	caller := deadCallCaller(t, s, "st_uac_refresh.xml", 11*time.Second)
	caller.requireOK(t)
	callee.stop(t)

	c := waitCDR(t, s)
	if c.Result != pbx.ResultAnswered || c.HangupBy != pbx.PartyCaller || c.EndReason != "" {
		t.Fatalf("CDR %+v: want answered, hung up by the caller", c)
	}
	if c.Duration < 10 {
		t.Errorf("call lasted %d s, want past the 9 s session interval", c.Duration)
	}
	callerMsgs, calleeMsgs := caller.messages(), callee.messages()
	oks := find(callerMsgs, false, "SIP/2.0 200")
	refreshOKs := 0
	for _, m := range oks {
		if strings.Contains(m, "CSeq: ") && strings.Contains(headerValue(m, "CSeq"), "INVITE") &&
			strings.HasPrefix(headerValue(m, "Session-Expires"), "90;refresher=uac") &&
			strings.Contains(headerValue(m, "Require"), "timer") {
			refreshOKs++
		}
	}
	if refreshOKs < 3 { // the initial 200 and the two refreshes
		t.Errorf("caller got %d 200 OKs to INVITE with Session-Expires: 90;refresher=uac and Require: timer, want 3", refreshOKs)
	}
	invites := find(calleeMsgs, false, "INVITE ")
	if len(invites) < 2 {
		t.Fatalf("callee got %d INVITEs: no refresh of its leg", len(invites))
	}
	if se := headerValue(invites[0], "Session-Expires"); se == "" || headerValue(invites[0], "Min-SE") == "" ||
		!strings.Contains(headerValue(invites[0], "Supported"), "timer") {
		t.Errorf("initial INVITE to the callee lacks the session-timer headers:\n%s", invites[0])
	}
	for _, r := range invites[1:] {
		if !strings.HasPrefix(headerValue(r, "Session-Expires"), "90;refresher=uac") {
			t.Errorf("refresh to the callee without Session-Expires: 90;refresher=uac:\n%s", r)
		}
		if strings.Contains(r, "o=caller") {
			t.Errorf("the caller's refresh reached the callee (SDP not rewritten?):\n%s", r)
		}
	}
	// 11 s of call, a refresh every 4.5 s: two refreshes of the callee's
	// leg, none relayed from the caller.
	if n := len(invites) - 1; n > 3 {
		t.Errorf("callee got %d refresh INVITEs, want 2 (the caller's refreshes must not be relayed)", n)
	}
}

// TestSessionExpiryReleasesCall: the caller negotiates timers as refresher
// and then vanishes (never refreshes). After interval - interval/3 the
// server sends BYE on both legs and closes the CDR.
func TestSessionExpiryReleasesCall(t *testing.T) {
	s := startServerConfig(t, "", fastTimers)
	s.apply(t, contosoDoc)
	callee := deadCallCallee(t, s, "uas.xml")
	caller := deadCallCaller(t, s, "st_uac_await_bye.xml", time.Second)
	caller.requireOK(t) // got the BYE
	c := waitCDR(t, s)
	if c.Result != pbx.ResultAnswered || c.HangupBy != pbx.PartySystem || c.EndReason != "session-expired" || c.End.IsZero() {
		t.Fatalf("CDR %+v: want answered, ended by the system, reason session-expired", c)
	}
	if c.Duration < 5 || c.Duration > 9 {
		t.Errorf("call lasted %d s, want about 6 (90 - 30 session-timer seconds of 100 ms)", c.Duration)
	}
	waitFor(t, 10*time.Second, 100*time.Millisecond, "the callee to get the BYE", func() (bool, string) {
		return len(find(callee.messages(), false, "BYE ")) > 0, "no BYE yet"
	})
	if n := s.metric(t, "switchboard_active_calls"); n != 0 {
		t.Errorf("%v calls still active", n)
	}
}

// TestRTPInactivityReleasesCall: media flows through the relay for 1 s,
// then stops on both sides; with rtpTimeout 2s the server releases the
// call.
func TestRTPInactivityReleasesCall(t *testing.T) {
	s := startServerConfig(t, "", "rtpTimeout: 2s\n")
	s.apply(t, contosoDoc)
	callee := deadCallCallee(t, s, "uas.xml")
	caller := deadCallCaller(t, s, "st_uac_await_bye.xml", time.Second)
	caller.requireOK(t)
	c := waitCDR(t, s)
	if c.Result != pbx.ResultAnswered || c.HangupBy != pbx.PartySystem || c.EndReason != "rtp-timeout" {
		t.Fatalf("CDR %+v: want answered, ended by the system, reason rtp-timeout", c)
	}
	if c.Duration < 2 || c.Duration > 8 {
		t.Errorf("call lasted %d s, want about 3 (1 s of media + 2 s timeout)", c.Duration)
	}
	if p := s.metric(t, "switchboard_media_packets_total"); p == 0 {
		t.Error("no RTP was relayed: the test proves nothing about inactivity after media")
	}
	waitFor(t, 10*time.Second, 100*time.Millisecond, "the callee to get the BYE", func() (bool, string) {
		return len(find(callee.messages(), false, "BYE ")) > 0, "no BYE yet"
	})
}

// TestSessionIntervalTooSmall: RFC 4028 422 handling on both legs. A
// caller asking for 60 s gets 422 with our Min-SE; a callee that answers
// 422 Min-SE: 1800 gets the INVITE again with the larger interval, and the
// call goes on.
func TestSessionIntervalTooSmall(t *testing.T) {
	s := startServerConfig(t, "", "sessionExpires: \"600\"\n")
	s.apply(t, contosoDoc)

	t.Run("caller gets 422", func(t *testing.T) {
		caller := startSipp(t, sippOpts{
			Name: "caller-60s", Scenario: "st_uac_422.xml", Remote: s.SIP, Port: freePort(t),
			CSV:     []string{strings.Join([]string{"alice", domain, authField("alice", alicePassword), "1002"}, ";")},
			AuthURI: "1002@" + domain, Timeout: 20 * time.Second,
		})
		caller.requireOK(t)
		got := find(caller.messages(), false, "SIP/2.0 422")
		if len(got) != 1 || headerValue(got[0], "Min-SE") != "90" {
			t.Fatalf("422s received: %q, want one with Min-SE: 90", got)
		}
	})

	t.Run("callee's 422 retried with its Min-SE", func(t *testing.T) {
		callee := deadCallCallee(t, s, "st_uas_422.xml")
		caller := startSipp(t, sippOpts{
			Name: "caller-alice", Scenario: "uac.xml", Remote: s.SIP, Port: freePort(t),
			CSV:     []string{strings.Join([]string{"alice", domain, authField("alice", alicePassword), "1002"}, ";")},
			PauseMS: 1000, AuthURI: "1002@" + domain, Timeout: 30 * time.Second,
			Keys: [][2]string{{"rtp_stream", silencePCMU(t, time.Second) + ",1,0"}},
		})
		caller.requireOK(t)
		invites := find(callee.messages(), false, "INVITE ")
		if len(invites) != 2 {
			t.Fatalf("callee got %d INVITEs, want 2 (the first refused with 422)", len(invites))
		}
		first, second := invites[0], invites[1]
		if headerValue(first, "Session-Expires") != "600" || headerValue(first, "Min-SE") != "90" {
			t.Errorf("first INVITE: Session-Expires %q, Min-SE %q; want 600, 90",
				headerValue(first, "Session-Expires"), headerValue(first, "Min-SE"))
		}
		if headerValue(second, "Session-Expires") != "1800" || headerValue(second, "Min-SE") != "1800" {
			t.Errorf("INVITE after 422: Session-Expires %q, Min-SE %q; want 1800, 1800",
				headerValue(second, "Session-Expires"), headerValue(second, "Min-SE"))
		}
		if headerValue(first, "CSeq") == headerValue(second, "CSeq") || headerValue(first, "Call-ID") != headerValue(second, "Call-ID") {
			t.Errorf("INVITE after 422 must be a new CSeq in the same Call-ID: %q / %q",
				headerValue(first, "CSeq"), headerValue(second, "CSeq"))
		}
		c := waitCDR(t, s)
		if c.Result != pbx.ResultAnswered || c.HangupBy != pbx.PartyCaller {
			t.Errorf("CDR %+v: want answered, hung up by the caller", c)
		}
	})
}
