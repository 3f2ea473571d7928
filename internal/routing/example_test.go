package routing_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/switchboard-pbx/switchboard/internal/routing"
)

func Example() {
	tbl, err := routing.Compile(routing.TenantConfig{
		Name:       "contoso",
		PstnUsages: []string{"US"},
		Gateways:   []routing.Gateway{{FQDN: "sbc1.contoso.com", Enabled: true}},
		VoiceRoutes: []routing.VoiceRoute{{Name: "US-NoPremium", NumberPattern: `^\+1(?!(900|976))\d{10}$`,
			OnlinePstnGatewayList: []string{"sbc1.contoso.com"}, OnlinePstnUsages: []string{"US"}}},
		VoiceRoutingPolicies: []routing.VoiceRoutingPolicy{{Name: "Global", OnlinePstnUsages: []string{"US"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	alice := routing.Caller{SIPAddress: "alice@contoso.com", UsageLocation: "US", EnterpriseVoiceEnabled: true}

	d := tbl.Route(alice, "(425) 555-0100", nil)
	enc := json.NewEncoder(os.Stdout)
	_ = enc.Encode(d)

	d = tbl.Route(alice, "1 900 555 0100", nil)
	fmt.Println(d.Target, d.Cause+":", d.Reason)
	// Output:
	// {"dialed":"(425) 555-0100","normalized":"+14255550100","rule":"US national","target":"pstn","user":"","via":"directRouting","usage":"US","routes":[{"name":"US-NoPremium","priority":0,"gateways":["sbc1.contoso.com"],"status":["Active"]}],"reason":"","cause":"","emergency":false}
	// rejected noRoute: no route matches "+19005550100" in usages [US] of voice routing policy "Global"
}
