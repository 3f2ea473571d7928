package e2e

// Hybrid voice (issue 6 acceptance): a gateway with edge: redmond is the
// site's SBC, reached through the edge. A cloud user's PSTN call goes
// cloud → edge → SBC; an inbound call from that SBC to a cloud user's
// number goes SBC → edge → cloud. While the cloud is out of reach the edge
// keeps PSTN in and out through the SBC for the users at the site.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// hySBCIP is the site SBC's loopback address (the DR tests use .2 to .4).
const hySBCIP = "127.0.0.20"

func hybridVoiceDoc(sbcPort int) func(string) string {
	extra := fmt.Sprintf(`pstnUsages: [US]
pstnGateways:
  - {fqdn: sbc1.contoso.com, edge: redmond, transport: udp, address: %s, sipSignalingPort: %d, enabled: true, sendSipOptions: false}
voiceRoutes:
  - {name: us, numberPattern: '^\+1\d{10}$', priority: 1, onlinePstnGatewayList: [sbc1.contoso.com], onlinePstnUsages: [US]}
voiceRoutingPolicies:
  - {name: US Only, onlinePstnUsages: [US]}
`, hySBCIP, sbcPort)
	return func(edgeSIP string) string { return hybridDoc(edgeSIP, extra, "US Only") }
}

func TestHybridVoiceThroughTheEdge(t *testing.T) {
	needLoopbackAlias(t, hySBCIP)
	t.Parallel()
	port := freePort(t)
	sbc := startSBC(t, "site-sbc", hySBCIP, port, "sbc_answer.xml", sippOpts{})
	p := startHybrid(t, hybridVoiceDoc(port))
	phone(t, p.cloud, "alice", alicePassword, 5*time.Minute)
	phone(t, p.edge, "bob", bobPassword, 5*time.Minute)

	t.Run("route test on the cloud shows the call carried through the edge", func(t *testing.T) {
		out, err := p.cloud.cli(t, "route", "test", "--tenant", "contoso", "--user", "alice@contoso.com", "--dial", "+12065550100", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Via    string `json:"via"`
			Routes []struct {
				Gateways []string `json:"gateways"`
				Edges    []string `json:"edges"`
			} `json:"routes"`
		}
		if err := json.Unmarshal(out, &d); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if d.Via != "edge redmond" || len(d.Routes) != 1 || len(d.Routes[0].Edges) != 1 || d.Routes[0].Edges[0] != "redmond" {
			t.Errorf("route test: via %q, routes %+v; want via edge redmond", d.Via, d.Routes)
		}
	})

	t.Run("a cloud user's PSTN call reaches the site SBC through the edge", func(t *testing.T) {
		callAs(t, p.cloud, "alice", alicePassword, "+12065550100", sippOpts{Name: "alice-to-pstn", PauseMS: 500}).requireOK(t)
		got := waitInvites(t, sbc, 1, 10*time.Second)
		if !strings.HasPrefix(got[0], "INVITE sip:+12065550100@sbc1.contoso.com") || !strings.Contains(got[0], "user=phone") ||
			!strings.Contains(got[0], "+14255550101") {
			t.Errorf("the SBC got %q, want sip:+12065550100@sbc1.contoso.com;user=phone from +14255550101", got[0])
		}
	})

	t.Run("the SBC calls a cloud user's number and the cloud user answers", func(t *testing.T) {
		sbcCall(t, p.edge, "sbc-to-alice", hySBCIP, "+14255550101", "+12065550100", 200).requireOK(t)
		waitFor(t, 10*time.Second, 100*time.Millisecond, "the cloud's CDR of the SBC's call to alice", func() (bool, string) {
			for _, c := range p.cloud.hybridCDRs(t) {
				if c.Callee == "alice@contoso.com" && strings.Contains(c.Caller, "+12065550100") && c.Result == "answered" {
					return true, ""
				}
			}
			return false, "none yet"
		})
	})

	t.Run("an edge user's PSTN call goes straight to the SBC", func(t *testing.T) {
		before := len(invites(sbc))
		callAs(t, p.edge, "bob", bobPassword, "+12065550101", sippOpts{Name: "bob-to-pstn", PauseMS: 500}).requireOK(t)
		waitInvites(t, sbc, before+1, 10*time.Second)
	})

	p.cloud.stop(t)
	p.waitMode(t, "survivable", 10*time.Second)
	t.Run("survivable: PSTN out and in through the site SBC", func(t *testing.T) {
		before := len(invites(sbc))
		callAs(t, p.edge, "bob", bobPassword, "+12065550102", sippOpts{Name: "bob-to-pstn-offline", PauseMS: 500}).requireOK(t)
		waitInvites(t, sbc, before+1, 10*time.Second)
		sbcCall(t, p.edge, "sbc-to-bob-offline", hySBCIP, "+14255550102", "+12065550100", 200).requireOK(t)
	})
}
