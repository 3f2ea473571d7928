package e2e

// Direct Routing, inbound (issue 4 acceptance): SIPp as an SBC calls a
// user's number; the gateway is identified by its source address (udp lab
// transport), its inbound translation rules apply, and the called number
// is looked up among the tenant's users' lineUri (PRODUCT.md §3, inbound).

import (
	"strings"
	"testing"
	"time"
)

func TestDRInbound(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	s := startServer(t)
	gws := []drGateway{
		{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: sbcPort(t, sbc1IP),
			Extra: "inboundCalledNumberTranslationRules: [national-to-e164], inboundCallingNumberTranslationRules: [national-to-e164]"},
		// Identified by an allow-list (a CIDR) rather than its address.
		{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: sbcPort(t, sbc2IP), Extra: `allowedAddresses: ["127.0.0.6/31"]`},
	}
	s.apply(t, drDoc(gws, serialRoutes(gws)))
	phone := registerDevice(t, s, "alice", alicePassword, "dr_phone.xml", 5*time.Minute)

	// delivered checks that alice's phone got one more INVITE, from calling.
	delivered := func(t *testing.T, before int, calling string) {
		t.Helper()
		got := waitInvites(t, phone, before+1, 10*time.Second)
		if len(got) != before+1 {
			t.Fatalf("alice's phone got %d INVITEs, want %d", len(got), before+1)
		}
		line := got[before]
		t.Logf("alice's phone got: %s", line)
		parts := strings.Split(line, " | ")
		if len(parts) < 2 || !strings.Contains(parts[1], "sip:"+calling+"@") {
			t.Errorf("From at alice's phone = %q, want the calling number %s", line, calling)
		}
	}
	inboundCDR := func(t *testing.T, called, result string, cause int) cdr {
		t.Helper()
		c := s.waitCDR(t, "inbound call to "+called, func(c cdr) bool {
			return dialedMatches(c.Dialed, called) && c.Result == result
		})
		if c.Tenant != "contoso" || int(c.Cause) != cause {
			t.Errorf("CDR = %v, want tenant contoso, cause %d", c, cause)
		}
		return c
	}

	t.Run("SBC calls alice's number and her phone answers", func(t *testing.T) {
		before := len(invites(phone))
		sbcCall(t, s, "sbc1-to-alice", sbc1IP, "+14255550101", "+12065550100", 200).requireOK(t)
		delivered(t, before, "+12065550100")
		c := inboundCDR(t, "+14255550101", "answered", 200)
		if !strings.Contains(c.Callee, "alice") {
			t.Errorf("CDR callee = %q, want alice: %v", c.Callee, c)
		}
		if !strings.Contains(c.Caller, "+12065550100") {
			t.Errorf("CDR caller = %q, want the PSTN caller +12065550100: %v", c.Caller, c)
		}
	})

	t.Run("inbound translation rules make national numbers E.164", func(t *testing.T) {
		before := len(invites(phone))
		sbcCall(t, s, "sbc1-national", sbc1IP, "4255550101", "2065550100", 200).requireOK(t)
		delivered(t, before, "+12065550100")
	})

	t.Run("gateway identified by allowedAddresses", func(t *testing.T) {
		before := len(invites(phone))
		sbcCall(t, s, "sbc2-allowed", "127.0.0.7", "+14255550101", "+12065550177", 200).requireOK(t)
		delivered(t, before, "+12065550177")
	})

	t.Run("unknown number gets 404", func(t *testing.T) {
		before := len(invites(phone))
		sbcCall(t, s, "sbc1-unknown", sbc1IP, "+14255559999", "+12065550100", 404).requireOK(t)
		inboundCDR(t, "+14255559999", "not-found", 404)
		if n := len(invites(phone)); n != before {
			t.Errorf("alice's phone got %d new INVITEs for an unknown number", n-before)
		}
	})

	t.Run("unconfigured address is not delivered", func(t *testing.T) {
		before := len(invites(phone))
		// Not a gateway, so it is treated as a user: challenged, never
		// routed (and it has no credentials to answer with).
		sbcCall(t, s, "stranger", "127.0.0.9", "+14255550101", "+12065550100", 407).requireOK(t)
		if n := len(invites(phone)); n != before {
			t.Errorf("alice's phone got %d INVITEs from an unconfigured address", n-before)
		}
	})
}
