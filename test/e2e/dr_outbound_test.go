package e2e

// Direct Routing, outbound (issue 4 acceptance): a user's call to an
// external number hunts the SBCs of the matching routes one after the
// other — PRODUCT.md §3.4 — with SIPp UAS instances playing three SBCs on
// 127.0.0.2, .3 and .4.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	dialedNational = "4255551234"   // US national format: the US country rules normalise it
	dialedE164     = "+14255551234" // what the SBC must get
)

// drOutbound starts a server with one gateway per SBC, each on its own
// route (priority 1, 2, 3: a fixed hunt order).
func drOutbound(t *testing.T, gws ...drGateway) *server {
	t.Helper()
	s := startServer(t)
	s.apply(t, drDoc(gws, serialRoutes(gws)))
	return s
}

// checkSBCInvite checks the INVITE an SBC logged (sbc_*.xml):
// "INVITE <ruri> | <From> | <PAI> | <Contact>".
func checkSBCInvite(t *testing.T, line, fqdn string) {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(line, "INVITE "), " | ")
	if len(parts) < 4 {
		t.Fatalf("unexpected SBC log line %q", line)
	}
	ruri, from := parts[0], parts[1]
	if !strings.HasPrefix(ruri, "sip:"+dialedE164+"@"+fqdn) || !strings.Contains(ruri, ";user=phone") {
		t.Errorf("Request-URI at the SBC = %q, want sip:%s@%s...;user=phone", ruri, dialedE164, fqdn)
	}
	if !strings.Contains(from, "sip:+14255550101@") {
		t.Errorf("From at the SBC = %q, want alice's lineUri +14255550101 as calling number", from)
	}
	if !strings.Contains(from, "user=phone") {
		t.Errorf("From at the SBC = %q, want user=phone on the E.164 URI", from)
	}
}

// pstnCDR waits for the CDR of alice's call to the external number.
func pstnCDR(t *testing.T, s *server, result string, cause int) cdr {
	t.Helper()
	c := s.waitCDR(t, fmt.Sprintf("PSTN call %s/%d", result, cause), func(c cdr) bool {
		return dialedMatches(c.Dialed, dialedNational) || dialedMatches(c.Dialed, dialedE164)
	})
	checkCDR(t, c, result, cause)
	if c.Callee != dialedE164 && !strings.Contains(c.Callee, dialedE164) {
		t.Errorf("CDR callee = %q, want the normalised number %s: %v", c.Callee, dialedE164, c)
	}
	return c
}

func TestDROutboundHunt(t *testing.T) {
	needSIPp(t)
	t.Parallel()

	t.Run("reaches SBC 1 with E.164 user=phone and the lineUri", func(t *testing.T) {
		t.Parallel()
		p1, p2 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		sbc1 := startSBC(t, "sbc1", sbc1IP, p1, "sbc_answer.xml", sippOpts{})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		dial(t, s, "uac.xml", dialedNational, sippOpts{PauseMS: 1000, Keys: [][2]string{rtpStreamKey(t)}}).requireOK(t)

		got := invites(sbc1)
		if len(got) != 1 {
			t.Fatalf("SBC 1 got %d INVITEs, want 1: %q", len(got), got)
		}
		t.Logf("SBC 1 got: %s", got[0])
		checkSBCInvite(t, got[0], "sbc1.contoso.com")
		if n := len(invites(sbc2)); n != 0 {
			t.Errorf("SBC 2 got %d INVITEs, want none", n)
		}
		c := pstnCDR(t, s, "answered", 200)
		if c.Answer == "" {
			t.Errorf("answered CDR without answer time: %v", c)
		}
		waitNoDialogs(t, s)
	})

	t.Run("503 from SBC 1 goes to SBC 2 without extra ringing", func(t *testing.T) {
		t.Parallel()
		p1, p2 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		sbc1 := startSBC(t, "sbc1", sbc1IP, p1, "sbc_503.xml", sippOpts{})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		caller := dial(t, s, "uac.xml", dialedNational, sippOpts{PauseMS: 500, Keys: [][2]string{rtpStreamKey(t)}})
		caller.requireOK(t)

		if n := len(invites(sbc1)); n != 1 {
			t.Errorf("SBC 1 got %d INVITEs, want 1", n)
		}
		got := invites(sbc2)
		if len(got) != 1 {
			t.Fatalf("SBC 2 got %d INVITEs, want 1 (failover after 503)", len(got))
		}
		checkSBCInvite(t, got[0], "sbc2.contoso.com")
		t.Logf("the caller received: %q", received(caller))
		if n := provisionals(caller); n != 1 {
			t.Errorf("the caller got %d 18x responses, want exactly 1 (SBC 2's ringing): %q", n, received(caller))
		}
		pstnCDR(t, s, "answered", 200)
	})

	t.Run("no failover after 180 then 503", func(t *testing.T) {
		t.Parallel()
		p1, p2 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		startSBC(t, "sbc1", sbc1IP, p1, "sbc_ring_503.xml", sippOpts{})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		dial(t, s, "uac_expect.xml", dialedNational, sippOpts{Sets: [][2]string{{"expect", "503"}}}).requireOK(t)
		if n := len(invites(sbc2)); n != 0 {
			t.Errorf("SBC 2 got %d INVITEs after SBC 1 rang, want none (no double ringing)", n)
		}
		pstnCDR(t, s, "failed", 503)
	})

	t.Run("silent SBC 1 goes to SBC 2 after failoverTimeSeconds", func(t *testing.T) {
		t.Parallel()
		const failover = 2
		p1, p2 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1, FailoverTime: failover},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		// Silent for longer than the INVITE transaction (Timer B, 32 s),
		// so its retransmissions stay in the one SIPp call.
		sbc1 := startSBC(t, "sbc1", sbc1IP, p1, "sbc_silent.xml", sippOpts{PauseMS: 40000})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		start := time.Now()
		caller := startCall(t, s, "uac.xml", dialedNational, "caller-silent", sippOpts{PauseMS: 500, Keys: [][2]string{rtpStreamKey(t)}})
		waitInvites(t, sbc1, 1, 10*time.Second)
		waitInvites(t, sbc2, 1, 20*time.Second)
		took := time.Since(start)
		caller.requireOK(t)
		t.Logf("SBC 2 reached %v after the call started (failoverTimeSeconds %d)", took.Round(10*time.Millisecond), failover)
		if took < failover*time.Second-200*time.Millisecond || took > failover*time.Second+3*time.Second {
			t.Errorf("failover to SBC 2 after %v, want about failoverTimeSeconds = %ds", took, failover)
		}
		if n := provisionals(caller); n != 1 {
			t.Errorf("the caller got %d 18x, want 1", n)
		}
		pstnCDR(t, s, "answered", 200)
	})

	t.Run("SBC 1 stuck at 100 Trying is cancelled and SBC 2 answers", func(t *testing.T) {
		t.Parallel()
		const failover = 2
		p1, p2 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1, FailoverTime: failover},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		sbc1 := startSBC(t, "sbc1", sbc1IP, p1, "sbc_trying.xml", sippOpts{})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		start := time.Now()
		caller := startCall(t, s, "uac.xml", dialedNational, "caller-trying", sippOpts{PauseMS: 500, Keys: [][2]string{rtpStreamKey(t)}})
		waitInvites(t, sbc2, 1, 20*time.Second)
		took := time.Since(start)
		caller.requireOK(t)
		if took < failover*time.Second-200*time.Millisecond || took > failover*time.Second+3*time.Second {
			t.Errorf("failover to SBC 2 after %v, want about failoverTimeSeconds = %ds", took, failover)
		}
		sbc1.waitLog(t, "CANCEL", 10*time.Second)
		pstnCDR(t, s, "answered", 200)
		waitNoDialogs(t, s)
	})

	t.Run("SBC 1 UDP port closed goes to SBC 2", func(t *testing.T) {
		t.Parallel()
		const failover = 2
		p1, p2 := closedPort(t, sbc1IP), sbcPort(t, sbc2IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1, FailoverTime: failover},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		start := time.Now()
		caller := startCall(t, s, "uac.xml", dialedNational, "caller-udp-closed", sippOpts{PauseMS: 500, Keys: [][2]string{rtpStreamKey(t)}})
		waitInvites(t, sbc2, 1, 20*time.Second)
		took := time.Since(start)
		caller.requireOK(t)
		// Switchboard sends UDP from its unconnected listening socket, so
		// the ICMP port-unreachable never reaches it: over UDP a closed
		// port looks like a silent SBC and the hunt moves on after
		// failoverTimeSeconds. TCP (below) fails at once.
		how := "after failoverTimeSeconds (ICMP not seen)"
		if took < time.Second {
			how = "at once (ICMP unreachable seen)"
		}
		t.Logf("UDP port closed: SBC 2 reached after %v — %s", took.Round(10*time.Millisecond), how)
		if took > failover*time.Second+3*time.Second {
			t.Errorf("failover to SBC 2 after %v, want at most failoverTimeSeconds = %ds", took, failover)
		}
		pstnCDR(t, s, "answered", 200)
	})

	t.Run("SBC 1 TCP port closed goes to SBC 2 at once", func(t *testing.T) {
		t.Parallel()
		p1, p2 := closedPort(t, sbc1IP), sbcPort(t, sbc2IP)
		// Default failoverTimeSeconds (10): only the transport error can
		// explain a quick failover.
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1, Transport: "tcp"},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		start := time.Now()
		caller := startCall(t, s, "uac.xml", dialedNational, "caller-tcp-closed", sippOpts{PauseMS: 500, Keys: [][2]string{rtpStreamKey(t)}})
		waitInvites(t, sbc2, 1, 20*time.Second)
		took := time.Since(start)
		caller.requireOK(t)
		t.Logf("TCP port closed: SBC 2 reached after %v", took.Round(10*time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("failover to SBC 2 after %v, want at once (connection refused)", took)
		}
		pstnCDR(t, s, "answered", 200)
	})

	t.Run("486 from SBC 1 is passed back without failover", func(t *testing.T) {
		t.Parallel()
		p1, p2 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2})
		sbc1 := startSBC(t, "sbc1", sbc1IP, p1, "sbc_486.xml", sippOpts{})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})

		dial(t, s, "uac_expect.xml", dialedNational, sippOpts{Sets: [][2]string{{"expect", "486"}}}).requireOK(t)
		if n := len(invites(sbc1)); n != 1 {
			t.Errorf("SBC 1 got %d INVITEs, want 1", n)
		}
		if n := len(invites(sbc2)); n != 0 {
			t.Errorf("SBC 2 got %d INVITEs after a 486, want none (486 ends the call)", n)
		}
		pstnCDR(t, s, "busy", 486)
	})

	t.Run("every SBC failing gives the caller a clean 503", func(t *testing.T) {
		t.Parallel()
		p1, p2, p3 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP), closedPort(t, sbc3IP)
		s := drOutbound(t,
			drGateway{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1},
			drGateway{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2},
			drGateway{FQDN: "sbc3.contoso.com", IP: sbc3IP, Port: p3, Transport: "tcp"})
		sbc1 := startSBC(t, "sbc1", sbc1IP, p1, "sbc_503.xml", sippOpts{})
		sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_504.xml", sippOpts{})

		caller := dial(t, s, "uac_expect.xml", dialedNational, sippOpts{Sets: [][2]string{{"expect", "503"}}})
		caller.requireOK(t)
		if n1, n2 := len(invites(sbc1)), len(invites(sbc2)); n1 != 1 || n2 != 1 {
			t.Errorf("SBC 1 / SBC 2 got %d / %d INVITEs, want 1 / 1", n1, n2)
		}
		if n := provisionals(caller); n != 0 {
			t.Errorf("the caller got %d 18x from failing SBCs, want none", n)
		}
		pstnCDR(t, s, "failed", 503)
		waitNoDialogs(t, s)
	})
}
