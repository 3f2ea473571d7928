package routing

import (
	"math/rand/v2"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// The directory snapshot satisfies the Resolver port as it is.
var _ Resolver = (*directory.Directory)(nil)

// contoso is the tenant most golden cases route in: offices in Redmond,
// London, Berlin and Paris, five SBCs, one of them drained.
func contoso() TenantConfig {
	return TenantConfig{
		Name:       "contoso",
		PstnUsages: []string{"Local", "LongDistance", "International", "EU", "Emergency", "Restricted"},
		Gateways: []Gateway{
			{FQDN: "sbc1.contoso.com", Enabled: true},
			{FQDN: "sbc2.contoso.com", Enabled: true},
			{FQDN: "sbc3.contoso.com", Enabled: true},
			{FQDN: "sbc-eu1.contoso.com", Enabled: true},
			{FQDN: "sbc-eu2.contoso.com", Enabled: true},
			{FQDN: "sbc-emergency.contoso.com", Enabled: true},
			{FQDN: "sbc-old.contoso.com", Enabled: false},
		},
		VoiceRoutes: []VoiceRoute{
			{Name: "US-Local", NumberPattern: `^\+1425\d{7}$`, Priority: 1,
				OnlinePstnGatewayList: []string{"sbc1.contoso.com", "sbc2.contoso.com", "sbc3.contoso.com"}, OnlinePstnUsages: []string{"Local"}},
			{Name: "US-Local-Backup", NumberPattern: `^\+1425\d{7}$`, Priority: 2,
				OnlinePstnGatewayList: []string{"SBC-OLD.contoso.com", "sbc3.contoso.com"}, OnlinePstnUsages: []string{"Local"}},
			{Name: "Short-Codes", NumberPattern: `^(112|911)$`, Priority: 9,
				OnlinePstnGatewayList: []string{"sbc3.contoso.com"}, OnlinePstnUsages: []string{"Local"}},
			{Name: "US-NoPremium", NumberPattern: `^\+1(?!(900|976))\d{10}$`, Priority: 1,
				OnlinePstnGatewayList: []string{"sbc1.contoso.com", "sbc2.contoso.com"}, OnlinePstnUsages: []string{"LongDistance"}},
			{Name: "Seattle-B", NumberPattern: `^\+1206\d{7}$`, Priority: 3,
				OnlinePstnGatewayList: []string{"sbc2.contoso.com"}, OnlinePstnUsages: []string{"LongDistance"}},
			{Name: "Seattle-A", NumberPattern: `^\+1206\d{7}$`, Priority: 3,
				OnlinePstnGatewayList: []string{"sbc1.contoso.com"}, OnlinePstnUsages: []string{"LongDistance"}},
			{Name: "Intl", NumberPattern: `^\+(?!1)\d{7,15}$`, Priority: 5,
				OnlinePstnGatewayList: []string{"sbc1.contoso.com", "sbc2.contoso.com"}, OnlinePstnUsages: []string{"International"}},
			{Name: "EU", NumberPattern: `^\+(44|49|33)\d+$`, Priority: 1,
				OnlinePstnGatewayList: []string{"sbc-eu1.contoso.com", "sbc-eu2.contoso.com"}, OnlinePstnUsages: []string{"EU"}},
			{Name: "UK-Emergency", NumberPattern: `^(999|112)$`, Priority: 1,
				OnlinePstnGatewayList: []string{"sbc-eu1.contoso.com"}, OnlinePstnUsages: []string{"EU"}},
			{Name: "Emergency-US", NumberPattern: `^(911|933)$`, Priority: 1,
				OnlinePstnGatewayList: []string{"sbc-emergency.contoso.com", "sbc1.contoso.com"}, OnlinePstnUsages: []string{"Emergency"}},
			{Name: "Drained", NumberPattern: `^\+1800\d{7}$`, Priority: 1,
				OnlinePstnGatewayList: []string{"sbc-old.contoso.com"}, OnlinePstnUsages: []string{"Restricted"}},
		},
		VoiceRoutingPolicies: []VoiceRoutingPolicy{
			{Name: "Global", OnlinePstnUsages: []string{"Local", "LongDistance"}},
			{Name: "US-Full", OnlinePstnUsages: []string{"Local", "LongDistance", "International"}},
			{Name: "LongDistance-First", OnlinePstnUsages: []string{"LongDistance", "Local"}},
			{Name: "EU-Users", OnlinePstnUsages: []string{"EU", "International"}},
			{Name: "Drained-Only", OnlinePstnUsages: []string{"Restricted"}},
			{Name: "No-Usages"},
		},
		DialPlans: []DialPlan{
			{Name: "Global", NormalizationRules: []Rule{
				{Name: "Ext", Pattern: `^([123]\d{3})$`, Translation: `$1`, IsInternalExtension: true},
				{Name: "Short", Pattern: `^(9\d\d)$`, Translation: `+14255550$1`},
				{Name: "Local7", Pattern: `^(\d{7})$`, Translation: `+1425$1`},
			}},
			{Name: "Redmond", ExternalAccessPrefix: "9", NormalizationRules: []Rule{
				{Name: "Operator", Pattern: `^0$`, Translation: `+14255550100`},
				{Name: "Ext4", Pattern: `^(\d{4})$`, Translation: `$1`, IsInternalExtension: true},
				{Name: "Local7", Pattern: `^(\d{7})$`, Translation: `+1425$1`},
				{Name: "Named", Pattern: `^8(?<num>\d{10})$`, Translation: `+1${num}`},
			}},
			{Name: "London", ExternalAccessPrefix: "9", NormalizationRules: []Rule{
				{Name: "Ext", Pattern: `^(2\d{3})$`, Translation: `+44207946$1`, IsInternalExtension: true},
			}},
			{Name: "Berlin", NormalizationRules: []Rule{
				{Name: "Intern", Pattern: `^(3\d{3})$`, Translation: `$1`, IsInternalExtension: true},
				{Name: "Berlin-Local", Pattern: `^(?!0)(\d{5,8})$`, Translation: `+4930$1`},
			}},
			{Name: "Paris"},
		},
		EmergencyRoutingPolicies: []EmergencyRoutingPolicy{
			{Name: "Global", EmergencyNumbers: []EmergencyNumber{
				{DialString: "911", DialMasks: []string{"112", "933"}, OnlinePstnUsage: "Emergency"},
			}},
			{Name: "UK", EmergencyNumbers: []EmergencyNumber{
				{DialString: "999", DialMasks: []string{"112"}},
			}},
		},
	}
}

// bare is a tenant that has no Global objects and one route.
func bare() TenantConfig {
	return TenantConfig{
		Name:       "fabrikam",
		PstnUsages: []string{"Local"},
		Gateways:   []Gateway{{FQDN: "sbc.fabrikam.com", Enabled: true}},
		VoiceRoutes: []VoiceRoute{{Name: "All", NumberPattern: `^\+\d+$`,
			OnlinePstnGatewayList: []string{"sbc.fabrikam.com"}, OnlinePstnUsages: []string{"Local"}}},
		VoiceRoutingPolicies: []VoiceRoutingPolicy{{Name: "Everything", OnlinePstnUsages: []string{"Local"}}},
		EmergencyRoutingPolicies: []EmergencyRoutingPolicy{{Name: "Global", EmergencyNumbers: []EmergencyNumber{
			{DialString: "911"}}}},
	}
}

func testDirectory() *directory.Directory {
	return directory.Build(
		[]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}, {Name: "fabrikam", Domains: []string{"fabrikam.com"}}},
		[]pbx.User{
			{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001", LineURI: "tel:+14255550101"},
			{Tenant: "contoso", SIPAddress: "bob@contoso.com", Extension: "1002", LineURI: "tel:+14255550102"},
			{Tenant: "contoso", SIPAddress: "carol@contoso.com", Extension: "2001", LineURI: "tel:+442079462001"},
			{Tenant: "contoso", SIPAddress: "dave@contoso.com", Extension: "3001", LineURI: "tel:+493012345601"},
			{Tenant: "fabrikam", SIPAddress: "erin@fabrikam.com", Extension: "1002", LineURI: "tel:+12065550142"},
		})
}

// callers returns the test callers by short name.
func callers() map[string]Caller {
	return map[string]Caller{
		"alice":   {SIPAddress: "alice@contoso.com", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"redmond": {SIPAddress: "rita@contoso.com", DialPlan: "Redmond", VoiceRoutingPolicy: "US-Full", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"ldFirst": {SIPAddress: "lars@contoso.com", VoiceRoutingPolicy: "LongDistance-First", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"london":  {SIPAddress: "liam@contoso.com", DialPlan: "London", VoiceRoutingPolicy: "EU-Users", EmergencyRoutingPolicy: "UK", UsageLocation: "GB", EnterpriseVoiceEnabled: true},
		"berlin":  {SIPAddress: "dave@contoso.com", DialPlan: "Berlin", VoiceRoutingPolicy: "EU-Users", UsageLocation: "DE", EnterpriseVoiceEnabled: true},
		"paris":   {SIPAddress: "paul@contoso.com", DialPlan: "Paris", VoiceRoutingPolicy: "EU-Users", UsageLocation: "fr", EnterpriseVoiceEnabled: true},
		"noEV":    {SIPAddress: "nora@contoso.com", UsageLocation: "US", EnterpriseVoiceEnabled: false},
		"drained": {SIPAddress: "dan@contoso.com", VoiceRoutingPolicy: "Drained-Only", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"noUsage": {SIPAddress: "nick@contoso.com", VoiceRoutingPolicy: "No-Usages", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"badPlan": {SIPAddress: "bea@contoso.com", DialPlan: "Nope", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"badVRP":  {SIPAddress: "ben@contoso.com", VoiceRoutingPolicy: "Nope", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"badERP":  {SIPAddress: "eve@contoso.com", EmergencyRoutingPolicy: "Nope", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"nowhere": {SIPAddress: "nell@contoso.com", EnterpriseVoiceEnabled: true},
		"mars":    {SIPAddress: "mark@contoso.com", UsageLocation: "XX", EnterpriseVoiceEnabled: true},
		"erin":    {SIPAddress: "erin@fabrikam.com", UsageLocation: "US", EnterpriseVoiceEnabled: true},
		"erinVRP": {SIPAddress: "erin@fabrikam.com", VoiceRoutingPolicy: "Everything", UsageLocation: "US", EnterpriseVoiceEnabled: true},
	}
}

// compileFixture compiles a fixture tenant with a deterministic shuffle.
func compileFixture(tb testing.TB, cfg TenantConfig, seed uint64) *Table {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	tbl, err := Compile(cfg, WithResolver(testDirectory()), WithRand(rng.IntN))
	if err != nil {
		tb.Fatalf("Compile(%s): %v", cfg.Name, err)
	}
	return tbl
}
