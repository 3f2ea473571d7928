package app

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/routing"
)

// TestCallingPlanTakes: mixed routing (PRODUCT.md §1, §3.5) — the Calling
// Plan takes a licensed user's call only when Direct Routing has no voice
// route (or no policy) for it, and any emergency call Direct Routing cannot
// place.
func TestCallingPlanTakes(t *testing.T) {
	cp := &callingPlan{}
	licensed := &pbx.User{SIPAddress: "alice@contoso.com", CallingPlan: "Domestic", UsageLocation: "US"}
	unlicensed := &pbx.User{SIPAddress: "bob@contoso.com", UsageLocation: "US"}
	rejected := func(c routing.Cause) routing.Decision {
		return routing.Decision{Target: routing.TargetRejected, Cause: c, Normalized: "+12065550100"}
	}
	for _, tt := range []struct {
		name      string
		caller    *pbx.User
		dialed    string
		d         routing.Decision
		number    string
		emergency bool
		ok        bool
	}{
		{"no voice route", licensed, "2065550100", rejected(routing.CauseNoRoute), "+12065550100", false, true},
		{"no policy", licensed, "2065550100", rejected(routing.CauseNoVoiceRoutingPolicy), "+12065550100", false, true},
		{"a voice route matched", licensed, "2065550100", routing.Decision{Target: routing.TargetPSTN}, "", false, false},
		{"gateways disabled: Direct Routing's", licensed, "2065550100", rejected(routing.CauseNoGateway), "", false, false},
		{"no enterprise voice", licensed, "2065550100", rejected(routing.CauseEnterpriseVoiceDisabled), "", false, false},
		{"a user", licensed, "1002", routing.Decision{Target: routing.TargetUser}, "", false, false},
		{"no licence", unlicensed, "2065550100", rejected(routing.CauseNoRoute), "", false, false},
		{"emergency by the country", licensed, "9-1-1", rejected(routing.CauseEnterpriseVoiceDisabled), "911", true, true},
		{"emergency flagged by routing, no licence", unlicensed, "911", routing.Decision{Target: routing.TargetRejected,
			Emergency: true, Cause: routing.CauseNoRoute}, "911", true, true},
		{"emergency not flagged by routing, no licence", unlicensed, "911", rejected(routing.CauseNoRoute), "", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			number, emergency, ok := cp.takes(tt.caller, tt.dialed, tt.d)
			if number != tt.number || emergency != tt.emergency || ok != tt.ok {
				t.Fatalf("takes = %q %v %v, want %q %v %v", number, emergency, ok, tt.number, tt.emergency, tt.ok)
			}
		})
	}
	var none *callingPlan
	if _, _, ok := none.takes(licensed, "2065550100", rejected(routing.CauseNoRoute)); ok {
		t.Fatal("a node without a Calling Plan took a call")
	}
}
