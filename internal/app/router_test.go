package app

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

func TestGatewayTargetCallerIDAndHeaders(t *testing.T) {
	g, err := compileGateway("contoso", provision.Gateway{FQDN: "sbc1.contoso.com", Transport: "udp",
		Address: "127.0.0.1", SIPSignalingPort: 5067, Enabled: true, ForwardPAI: true, ForwardCallHistory: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := &pbx.User{SIPAddress: "alice@contoso.com", LineURI: "+14255550101"}
	cases := []struct {
		name      string
		policy    provision.CallerIDPolicy
		calling   string
		anonymous bool
	}{
		{"no policy: own number", provision.CallerIDPolicy{}, "+14255550101", false},
		{"line uri", provision.CallerIDPolicy{CallingIDSubstitute: provision.CallerIDLineURI}, "+14255550101", false},
		{"anonymous", provision.CallerIDPolicy{CallingIDSubstitute: provision.CallerIDAnonymous}, "+14255550101", true},
		{"service number", provision.CallerIDPolicy{CallingIDSubstitute: provision.CallerIDService,
			ServiceNumber: "+14255550100"}, "+14255550100", false},
	}
	for _, c := range cases {
		tt := g.target(alice, "+14255551234", c.policy)
		if tt.Calling != c.calling || tt.Anonymous != c.anonymous || !tt.ForwardPAI || !tt.ForwardHistory ||
			tt.Address != "127.0.0.1:5067" || tt.Called != "+14255551234" {
			t.Errorf("%s: %+v", c.name, tt)
		}
	}
}

func TestPeersBySourceExactAndCIDR(t *testing.T) {
	exact := &gateway{tenant: "contoso", key: "contoso/sbc1.contoso.com", spec: provision.Gateway{FQDN: "sbc1.contoso.com"}}
	ranged := &gateway{tenant: "contoso", key: "contoso/sbc2.contoso.com", spec: provision.Gateway{FQDN: "sbc2.contoso.com"}}
	c := &compiled{tenants: map[string]*tenantRouting{"contoso": {domain: "contoso.com"}},
		bySrc: map[string][]*gateway{"10.0.0.5": {exact}, "192.0.2.0/24": {ranged}}}
	c.cidrs = prefixesOf(c.bySrc)
	p := &peers{c: c}
	for _, tc := range []struct{ ip, want string }{
		{"10.0.0.5", "contoso/sbc1.contoso.com"},
		{"192.0.2.77", "contoso/sbc2.contoso.com"},
		{"::ffff:192.0.2.1", "contoso/sbc2.contoso.com"},
		{"10.0.0.6", ""},
		{"192.0.3.1", ""},
		{"not-an-ip", ""},
	} {
		g, ok := p.BySource(tc.ip, 5060)
		if got := map[bool]string{true: g.Key}[ok]; got != tc.want {
			t.Errorf("BySource(%s) = %q, want %q", tc.ip, got, tc.want)
		}
		if ok && g.Host != "contoso.com" {
			t.Errorf("BySource(%s): host %q", tc.ip, g.Host)
		}
	}
}
