package routing

import (
	"slices"
	"strings"
	"testing"
)

// TestViaEdge: a call whose first gateway sits at a hybrid edge is carried
// through that edge (Via "edge NAME"); Edges runs parallel to Gateways and
// is left out when no gateway has an edge.
func TestViaEdge(t *testing.T) {
	tbl, err := Compile(TenantConfig{
		Name:       "contoso",
		PstnUsages: []string{"Intl"},
		Gateways: []Gateway{{FQDN: "site.contoso.com", Enabled: true, Edge: "redmond"},
			{FQDN: "cloud.contoso.com", Enabled: true}},
		VoiceRoutes: []VoiceRoute{
			{Name: "de", NumberPattern: `^\+49\d+$`, OnlinePstnGatewayList: []string{"site.contoso.com", "cloud.contoso.com"}, OnlinePstnUsages: []string{"Intl"}},
			{Name: "fr", NumberPattern: `^\+33\d+$`, OnlinePstnGatewayList: []string{"cloud.contoso.com"}, OnlinePstnUsages: []string{"Intl"}},
		},
		VoiceRoutingPolicies: []VoiceRoutingPolicy{{Name: GlobalName, OnlinePstnUsages: []string{"Intl"}}},
	}, WithRand(func(int) int { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	alice := Caller{SIPAddress: "alice@contoso.com", EnterpriseVoiceEnabled: true}
	health := func(fqdn string) Status {
		if fqdn == "cloud.contoso.com" {
			return Demoted // the site's SBC is tried first
		}
		return Active
	}
	d := tbl.Explain(alice, "+4930123456", health)
	if d.Via != "edge redmond" || d.Target != TargetPSTN {
		t.Fatalf("via %q target %q, want edge redmond / pstn", d.Via, d.Target)
	}
	if name, ok := EdgeOf(d.Via); !ok || name != "redmond" {
		t.Errorf("EdgeOf(%q) = %q, %v", d.Via, name, ok)
	}
	if r := d.Routes[0]; !slices.Equal(r.Gateways, []string{"site.contoso.com", "cloud.contoso.com"}) ||
		!slices.Equal(r.Edges, []string{"redmond", ""}) {
		t.Errorf("route %+v", r)
	}
	if !slices.ContainsFunc(d.Steps, func(s string) bool { return strings.Contains(s, "carried through that edge") }) {
		t.Errorf("steps do not explain the edge: %q", d.Steps)
	}
	if r := tbl.Route(alice, "+4930123456", health); r.Via != d.Via || len(r.Steps) != 0 {
		t.Errorf("Route: via %q, %d steps", r.Via, len(r.Steps))
	}

	// The site's SBC demoted: the cloud's own gateway is tried first.
	d = tbl.Route(alice, "+4930123456", func(fqdn string) Status {
		if fqdn == "site.contoso.com" {
			return Demoted
		}
		return Active
	})
	if d.Via != ViaDirectRouting || !slices.Equal(d.Routes[0].Edges, []string{"", "redmond"}) {
		t.Errorf("site demoted: via %q, edges %q", d.Via, d.Routes[0].Edges)
	}
	if d = tbl.Route(alice, "+33123456789", nil); d.Via != ViaDirectRouting || d.Routes[0].Edges != nil {
		t.Errorf("no edge: via %q, edges %q", d.Via, d.Routes[0].Edges)
	}
	if _, ok := EdgeOf(ViaDirectRouting); ok {
		t.Error("EdgeOf(directRouting) is an edge")
	}
}
