package main

import (
	"reflect"
	"strings"
	"testing"
)

// TestInvalidDocuments applies invalid documents to a server holding the
// example tenant: each fails with exit status 1 and the exact
// "FILE:LINE: field: message" line, and nothing changes in the store.
// Problems a document shows on its own are found before anything is sent;
// those that need the stored tenant (references, --prune) by the server.
func TestInvalidDocuments(t *testing.T) {
	s := newAdminServer(t)
	if code, _, errOut := s.run(t, "", "apply", "-f", writeFile(t, "c.yaml", readExample(t))); code != 0 {
		t.Fatalf("apply example: %s", errOut)
	}
	before := s.snapshot(t)

	gw := "tenant: contoso\npstnGateways:\n  - fqdn: sbc9.contoso.com\n"
	route := "tenant: contoso\nvoiceRoutes:\n  - name: r9\n    numberPattern: '^\\+44\\d+$'\n    onlinePstnGatewayList: [sbc1.contoso.com]\n    onlinePstnUsages: [Local]\n"
	user := "tenant: contoso\nusers:\n  - sipAddress: carol@contoso.com\n    password: carol-secret\n"
	tests := []struct {
		name, doc, want string
		args            []string
	}{
		{"unknown field", gw + "    sipPort: 5060\n", "bad.yaml:4: pstnGateways[0].sipPort: unknown field", nil},
		{"wrong type", gw + "    sipSignalingPort: high\n", "bad.yaml:4: pstnGateways[0].sipSignalingPort: expected an integer", nil},
		{"port out of range", gw + "    sipSignalingPort: 70000\n", "bad.yaml:4: pstnGateways[0].sipSignalingPort: 70000 is out of range (1 to 65535)", nil},
		{"bad transport", gw + "    transport: sctp\n", `bad.yaml:4: pstnGateways[0].transport: "sctp" is not a transport (expected tls, tcp or udp)`, nil},
		{"gateway outside the domains", strings.Replace(gw, "sbc9.contoso.com", "sbc9.fabrikam.com", 1),
			`bad.yaml:3: pstnGateways[0].fqdn: "sbc9.fabrikam.com" is not in one of the tenant's domains`, nil},
		{"failover code", gw + "    failoverResponseCodes: [503, 200]\n",
			"bad.yaml:4: pstnGateways[0].failoverResponseCodes[1]: 200 is not a SIP failure response code (400 to 699)", nil},
		{"failover time", gw + "    failoverTimeSeconds: 500\n", "bad.yaml:4: pstnGateways[0].failoverTimeSeconds: 500 is out of range (1 to 120)", nil},
		{"unknown edge", gw + "    edge: nowhere\n", `bad.yaml:4: pstnGateways[0].edge: edge "nowhere" does not exist`, nil},
		{"unknown translation rule", gw + "    outboundCalledNumberTranslationRules: [strip-plus, nope]\n",
			`bad.yaml:4: pstnGateways[0].outboundCalledNumberTranslationRules[1]: translation rule "nope" does not exist`, nil},
		{"regex does not compile", strings.Replace(route, `'^\+44\d+$'`, `'^(\d+$'`, 1),
			"bad.yaml:4: voiceRoutes[0].numberPattern: \"^(\\\\d+$\" is not a valid regular expression: missing closing ) in `^(\\d+$`", nil},
		{"route to unknown gateway", strings.Replace(route, "[sbc1.contoso.com]", "[sbc9.contoso.com]", 1),
			`bad.yaml:5: voiceRoutes[0].onlinePstnGatewayList[0]: gateway "sbc9.contoso.com" does not exist`, nil},
		{"route with unknown usage", strings.Replace(route, "[Local]", "[Nope]", 1),
			`bad.yaml:6: voiceRoutes[0].onlinePstnUsages[0]: usage "Nope" does not exist`, nil},
		{"negative priority", route + "    priority: -1\n", "bad.yaml:7: voiceRoutes[0].priority: must not be negative", nil},
		{"usage twice in a policy", "tenant: contoso\nvoiceRoutingPolicies:\n  - name: p\n    onlinePstnUsages: [Local, Local]\n",
			`bad.yaml:4: voiceRoutingPolicies[0].onlinePstnUsages[1]: duplicate usage "Local" (also voiceRoutingPolicies[0].onlinePstnUsages[0])`, nil},
		{"translation group", "tenant: contoso\ndialPlans:\n  - name: d\n    normalizationRules:\n      - {name: x, pattern: '^(\\d{4})$', translation: '$2'}\n",
			"bad.yaml:5: dialPlans[0].normalizationRules[0].translation: $2 refers to a group the pattern does not have (it has 1)", nil},
		{"access prefix", "tenant: contoso\ndialPlans:\n  - name: d\n    externalAccessPrefix: \"99999\"\n    normalizationRules: []\n",
			`bad.yaml:4: dialPlans[0].externalAccessPrefix: "99999" is not an access prefix (expected 1 to 4 of 0-9, * and #)`, nil},
		{"extension of a stored user", user + "    extension: \"1001\"\n",
			`bad.yaml:5: users[0].extension: duplicate extension "1001" (also users["alice@contoso.com"])`, nil},
		{"number not E.164", user + "    lineUri: \"14255550199\"\n",
			`bad.yaml:5: users[0].lineUri: "14255550199" is not an E.164 number (expected + and 8 to 15 digits)`, nil},
		{"number type", user + "    lineUri: \"+14255550199\"\n    numberType: Mobile\n",
			`bad.yaml:6: users[0].numberType: "Mobile" is not a number type (expected DirectRouting or CallingPlan)`, nil},
		{"unknown policy", user + "    voiceRoutingPolicy: Nope\n",
			`bad.yaml:5: users[0].voiceRoutingPolicy: voice routing policy "Nope" does not exist`, nil},
		{"unknown home", user + "    home: mars\n", `bad.yaml:5: users[0].home: "mars" is neither "online" nor an edge of the tenant`, nil},
		{"usage location", user + "    usageLocation: XX\n",
			`bad.yaml:5: users[0].usageLocation: "XX" is not an ISO 3166 country code known to the numbering plan (e.g. US, GB, DE)`, nil},
		{"unanswered delay", user + "    callingSettings:\n      unansweredDelaySeconds: 1\n",
			"bad.yaml:6: users[0].callingSettings.unansweredDelaySeconds: 1 is out of range (5 to 120)", nil},
		{"voicemail off", user + "    callingSettings:\n      forwarding: {busy: voicemail}\n",
			"bad.yaml:6: users[0].callingSettings.forwarding.busy: forwards to voicemail, but voicemail.enabled is false", nil},
		{"new user without password", "tenant: contoso\nusers:\n  - sipAddress: carol@contoso.com\n",
			"bad.yaml:3: users[0].password: required for a new user", nil},
		{"emergency usage", "tenant: contoso\nemergencyRoutingPolicies:\n  - name: e\n    emergencyNumbers:\n      - {dialString: \"112\", onlinePstnUsage: Nope}\n",
			`bad.yaml:5: emergencyRoutingPolicies[0].emergencyNumbers[0].onlinePstnUsage: usage "Nope" does not exist`, nil},
		{"emergency dial string", "tenant: contoso\nemergencyRoutingPolicies:\n  - name: e\n    emergencyNumbers:\n      - dialString: \"9-1-1\"\n        onlinePstnUsage: Emergency\n",
			`bad.yaml:5: emergencyRoutingPolicies[0].emergencyNumbers[0].dialString: "9-1-1" is not a dial string (expected digits, * or #, optionally after +)`, nil},
		{"service caller ID without number", "tenant: contoso\ncallerIdPolicies:\n  - name: s\n    callingIdSubstitute: service\n",
			"bad.yaml:3: callerIdPolicies[0].serviceNumber: required with callingIdSubstitute Service", nil},
		{"location without city", "tenant: contoso\nemergencyLocations:\n  - name: l\n    streetAddress: 1 Main St\n    countryOrRegion: US\n",
			"bad.yaml:3: emergencyLocations[0].city: must not be empty", nil},
		{"edge port", "tenant: contoso\nedges:\n  - name: e2\n    sipAddress: edge2.contoso.com:99999\n",
			`bad.yaml:4: edges[0].sipAddress: port "99999" is out of range (1 to 65535)`, nil},
		{"bad domain", "tenant: contoso\ndomains: [contoso.com, \"bad domain\"]\n", `bad.yaml:2: domains[1]: "bad domain" is not a valid domain name`, nil},
		{"list expected", "tenant: contoso\npstnUsages: Local\n", "bad.yaml:2: pstnUsages: expected a list", nil},
		{"prune leaves a route without gateway", "tenant: contoso\npstnGateways: []\n",
			`bad.yaml:1: voiceRoutes["emergency"].onlinePstnGatewayList[0]: gateway "sbc2.contoso.com" does not exist`, []string{"--prune"}},
		{"duplicate route name", route + "  - name: r9\n    numberPattern: '^1$'\n    onlinePstnGatewayList: [sbc1.contoso.com]\n    onlinePstnUsages: [Local]\n",
			`bad.yaml:7: voiceRoutes[1].name: duplicate name "r9" (also voiceRoutes[0])`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "bad.yaml", tt.doc)
			code, out, errOut := s.run(t, "", append([]string{"apply", "-f", file}, tt.args...)...)
			got := strings.ReplaceAll(errOut, file, "bad.yaml")
			if code != exitFailure || out != "" || !slicesContainsLine(got, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant the line\n%s", code, out, got, tt.want)
			}
			if !reflect.DeepEqual(before, s.snapshot(t)) {
				t.Fatal("an invalid document changed the store")
			}
		})
	}
	if len(tests) < 25 {
		t.Errorf("%d invalid documents, want at least 25", len(tests))
	}
}

func slicesContainsLine(text, line string) bool {
	for l := range strings.SplitSeq(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
