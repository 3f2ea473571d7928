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
