package e2e

// Calling Plan, outbound (issue 5 acceptance): SIPp plays the operator's
// carriers on 127.0.0.5 and .6; the server's operator configuration is
// examples/operator.yaml with a billed minute of cpMinute, so the issue's
// durations run scaled (90 s of talk is 6 s here).

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	usNumber = "+12065550100"  // US fixed line: domestic for a US user
	gbNumber = "+442079460123" // GB: international, +44 rate 0.023
)

// cpAllowGB is the tenant setting that allows Calling Plan calls to GB.
const cpAllowGB = "settings: {callingPlan: {internationalCountries: [GB]}}\n"

func TestCPOutbound(t *testing.T) {
	needSIPp(t)
	t.Parallel()

	t.Run("domestic through the carrier, GB refused, then paid by credits", func(t *testing.T) {
		t.Parallel()
		r := startCP(t, "cp_carrier.xml", "cp_carrier.xml", cpTenant("", ""))

		cpDial(t, r.s, usNumber, time.Second, 0)
		got := cpInvites(r.a)
		if len(got) != 1 || !strings.HasPrefix(got[0], "INVITE sip:"+usNumber+"@"+cpCarrierAIP) {
			t.Fatalf("carrier-a (priority 1) got %q, want one INVITE to %s", got, usNumber)
		}
		c := cpWaitCDR(t, r.s, usNumber)
		if c.Via != "callingPlan" || c.Result != "answered" || c.Emergency {
			t.Errorf("CDR = %+v, want answered via callingPlan", c)
		}
		cpWaitUsed(t, r.s, 1)

		// A new tenant calls no country abroad (toll fraud, issue 9 item 7),
		// emergency aside; route test says why.
		p := cpDial(t, r.s, gbNumber, 0, 403)
		cpFinal(t, p, 403, "Destination Country Not Allowed")
		out, err := r.s.cli(t, "route", "test", "--tenant", "contoso", "--user", "alice@contoso.com", "--dial", gbNumber)
		if err != nil || !strings.Contains(string(out), "does not allow international calls to GB (settings.callingPlan.internationalCountries") {
			t.Errorf("route test of %s = %s, %v; want the allow-list named", gbNumber, out, err)
		}
		r.s.apply(t, cpTenant(cpAllowGB, ""))
		p = cpDial(t, r.s, gbNumber, 0, 403)
		cpFinal(t, p, 403, "International Calls Not Allowed") // allowed, but the licence has no international minutes
		if n := len(cpInvites(r.b)); n != 0 {
			t.Fatalf("carrier-b got %d INVITEs for a refused call", n)
		}

		cpTopUp(t, r.s, "1")
		cpDial(t, r.s, gbNumber, cpScaled(90*time.Second), 0) // 2 minutes at 0.023
		got = cpInvites(r.b)
		if len(got) != 1 || !strings.HasPrefix(got[0], "INVITE sip:"+gbNumber+"@"+cpCarrierBIP) {
			t.Fatalf("carrier-b (the one serving GB) got %q", got)
		}
		if c := cpWaitCDR(t, r.s, gbNumber); c.Via != "callingPlan" || c.Result != "answered" {
			t.Errorf("CDR = %+v", c)
		}
		waitFor(t, 10*time.Second, 100*time.Millisecond, "the balance debited", func() (bool, string) {
			b := cpBalance(t, r.s)
			return b == "0.954", "balance " + b
		})
		u := cpUsageOf(t, r.s)
		if u.Credits.Spent.String() != "0.046" || u.Credits.Reserved.String() != "0" {
			t.Errorf("credits = %+v, want 0.046 spent", u.Credits)
		}
		if used, _ := cpUsedMinutes(t, r.s); used != 1 {
			t.Errorf("the GB call took pool minutes: used %d", used)
		}
	})

	t.Run("pool exhausted after 90 s, the 40 s call refused, emergency still goes", func(t *testing.T) {
		t.Parallel()
		// A pool of 2 minutes: one user, 2 minutes each; bob has no licence.
		doc := strings.Replace(cpTenant("", ""), `extension: "1002", usageLocation: US, enterpriseVoiceEnabled: true, callingPlan: Domestic}`,
			`extension: "1002", usageLocation: US, enterpriseVoiceEnabled: true}`, 1)
		r := startCP(t, "cp_carrier.xml", "cp_carrier.xml", doc,
			"Domestic: {domesticMinutes: 3000}", "Domestic: {domesticMinutes: 2}")

		cpDial(t, r.s, usNumber, cpScaled(90*time.Second), 0)
		cpWaitUsed(t, r.s, 2)
		if _, left := cpUsedMinutes(t, r.s); left != 0 {
			t.Fatalf("pool left %d, want 0", left)
		}

		p := cpDial(t, r.s, "+12065550101", 0, 403)
		cpFinal(t, p, 403, "Calling Plan Minutes Exhausted")
		if n := len(cpInvites(r.a)); n != 1 {
			t.Fatalf("carrier-a got %d INVITEs, want only the first call's", n)
		}

		cpDial(t, r.s, "911", time.Second, 0)
		got := cpInvites(r.a)
		if len(got) != 2 || !strings.HasPrefix(got[1], "INVITE sip:911@"+cpCarrierAIP) {
			t.Fatalf("carrier-a got %q, want the emergency call to 911", got)
		}
		if c := cpWaitCDR(t, r.s, "911"); !c.Emergency || c.Via != "callingPlan" || c.Result != "answered" {
			t.Errorf("emergency CDR = %+v", c)
		}
		if used, _ := cpUsedMinutes(t, r.s); used != 2 {
			t.Errorf("the emergency call changed the pool: used %d", used)
		}
	})

	t.Run("credits for one minute: released at one minute", func(t *testing.T) {
		t.Parallel()
		r := startCP(t, "cp_carrier.xml", "cp_carrier.xml", cpTenant(cpAllowGB, ""))
		cpTopUp(t, r.s, "0.023")
		p := dial(t, r.s, "cp_uac_released.xml", gbNumber, sippOpts{Name: "alice-cutoff",
			Timeout: cpMinute + 20*time.Second, Keys: [][2]string{rtpStreamKey(t)}})
		p.requireOK(t)
		c := cpWaitCDR(t, r.s, gbNumber)
		if c.HangupBy != "system" || c.Result != "answered" {
			t.Errorf("CDR = %+v, want answered and hung up by the system", c)
		}
		if want := cpMinute.Seconds(); c.Duration < want-1 || c.Duration > want+1 {
			t.Errorf("released after %vs, want about %vs (one minute)", c.Duration, want)
		}
		waitFor(t, 10*time.Second, 100*time.Millisecond, "the balance spent", func() (bool, string) {
			b := cpBalance(t, r.s)
			return b == "0", "balance " + b
		})
		waitNoDialogs(t, r.s)
	})

	t.Run("carrier-a answers 503, carrier-b takes the call", func(t *testing.T) {
		t.Parallel()
		r := startCP(t, "cp_carrier_503.xml", "cp_carrier.xml", cpTenant("", ""))
		cpDial(t, r.s, usNumber, time.Second, 0)
		if n := len(cpInvites(r.a)); n != 1 {
			t.Errorf("carrier-a got %d INVITEs, want 1", n)
		}
		if got := cpInvites(r.b); len(got) != 1 || !strings.HasPrefix(got[0], "INVITE sip:"+usNumber+"@"+cpCarrierBIP) {
			t.Errorf("carrier-b got %q, want the call after carrier-a's 503", got)
		}
		if c := cpWaitCDR(t, r.s, usNumber); c.Result != "answered" || c.Via != "callingPlan" {
			t.Errorf("CDR = %+v", c)
		}
	})

	t.Run("mixed routing: a voice route goes to the SBC, the rest to the carrier", func(t *testing.T) {
		t.Parallel()
		sp := cpPort(t, cpSBCIP)
		sbc := cpCarrier(t, "sbc", cpSBCIP, sp, "cp_carrier.xml")
		dr := `pstnUsages: [Seattle]
pstnGateways:
  - {fqdn: sbc.contoso.com, transport: udp, address: ` + cpSBCIP + `, sipSignalingPort: ` + strconv.Itoa(sp) + `, enabled: true, sendSipOptions: false}
voiceRoutes:
  - {name: seattle, numberPattern: '^\+1206\d{7}$', priority: 1, onlinePstnGatewayList: [sbc.contoso.com], onlinePstnUsages: [Seattle]}
voiceRoutingPolicies:
  - {name: Seattle Only, onlinePstnUsages: [Seattle]}
`
		r := startCP(t, "cp_carrier.xml", "cp_carrier.xml", cpTenant(dr, ", voiceRoutingPolicy: Seattle Only"))

		out, err := r.s.cli(t, "route", "test", "--tenant", "contoso", "--user", "alice@contoso.com", "--dial", "+14255550199", "-o", "json")
		if err != nil || !strings.Contains(string(out), `"via": "callingPlan"`) {
			t.Errorf("route test of +14255550199 = %s, %v; want via callingPlan", out, err)
		}
		cpDial(t, r.s, usNumber, time.Second, 0)
		cpDial(t, r.s, "+14255550199", time.Second, 0)
		if got := cpInvites(sbc); len(got) != 1 || !strings.HasPrefix(got[0], "INVITE sip:"+usNumber+"@sbc.contoso.com") {
			t.Errorf("the SBC got %q, want the call to %s (Direct Routing)", got, usNumber)
		}
		if got := cpInvites(r.a); len(got) != 1 || !strings.HasPrefix(got[0], "INVITE sip:+14255550199@") {
			t.Errorf("carrier-a got %q, want the call to +14255550199 (Calling Plan)", got)
		}
		if c := cpWaitCDR(t, r.s, usNumber); c.Via != "directRouting" {
			t.Errorf("CDR of the Seattle call = %+v, want via directRouting", c)
		}
		if c := cpWaitCDR(t, r.s, "+14255550199"); c.Via != "callingPlan" {
			t.Errorf("CDR of the other call = %+v, want via callingPlan", c)
		}
		cpWaitUsed(t, r.s, 1) // only the Calling Plan call counts
	})
}
