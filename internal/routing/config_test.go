package routing

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*TenantConfig)
		want   []ConfigError
	}{
		{"route pattern does not compile", func(c *TenantConfig) { c.VoiceRoutes[0].NumberPattern = `^\+1(425` },
			[]ConfigError{{"voiceRoutes[0].numberPattern", `voice route "US-Local": numberPattern "^\\+1(425": not a valid regular expression: missing closing )`}}},
		{"empty route pattern", func(c *TenantConfig) { c.VoiceRoutes[1].NumberPattern = "" },
			[]ConfigError{{"voiceRoutes[1].numberPattern", `voice route "US-Local-Backup": numberPattern "": must not be empty (use .* to match everything)`}}},
		{"unknown gateway", func(c *TenantConfig) { c.VoiceRoutes[0].OnlinePstnGatewayList[1] = "sbc9.contoso.com" },
			[]ConfigError{{"voiceRoutes[0].onlinePstnGatewayList[1]", `voice route "US-Local" names gateway "sbc9.contoso.com", which does not exist`}}},
		{"gateway twice in a route", func(c *TenantConfig) { c.VoiceRoutes[0].OnlinePstnGatewayList[1] = "SBC1.contoso.com" },
			[]ConfigError{{"voiceRoutes[0].onlinePstnGatewayList[1]", `voice route "US-Local" lists gateway "SBC1.contoso.com" twice`}}},
		{"unknown usage in route", func(c *TenantConfig) { c.VoiceRoutes[0].OnlinePstnUsages = []string{"Locale"} },
			[]ConfigError{{"voiceRoutes[0].onlinePstnUsages[0]", `voice route "US-Local" names PSTN usage "Locale", which does not exist`}}},
		{"unknown usage in policy", func(c *TenantConfig) { c.VoiceRoutingPolicies[1].OnlinePstnUsages[2] = "Intl" },
			[]ConfigError{{"voiceRoutingPolicies[1].onlinePstnUsages[2]", `voice routing policy "US-Full" names PSTN usage "Intl", which does not exist`}}},
		{"usage twice in policy", func(c *TenantConfig) { c.VoiceRoutingPolicies[0].OnlinePstnUsages = []string{"Local", "Local"} },
			[]ConfigError{{"voiceRoutingPolicies[0].onlinePstnUsages[1]", `voice routing policy "Global" lists PSTN usage "Local" twice`}}},
		{"duplicate route", func(c *TenantConfig) { c.VoiceRoutes[1].Name = "US-Local" },
			[]ConfigError{{"voiceRoutes[1].name", `voice route "US-Local" is defined twice`}}},
		{"negative priority", func(c *TenantConfig) { c.VoiceRoutes[0].Priority = -1 },
			[]ConfigError{{"voiceRoutes[0].priority", `voice route "US-Local": priority -1 must not be negative`}}},
		{"rule pattern does not compile", func(c *TenantConfig) { c.DialPlans[1].NormalizationRules[3].Pattern = `^8(?<num\d{10})$` },
			[]ConfigError{{"dialPlans[1].normalizationRules[3].pattern", `dial plan "Redmond" rule "Named": pattern "^8(?<num\\d{10})$": not a valid regular expression: invalid group name: group names must begin with a word character and have a matching terminator`}}},
		{"translation names a missing group", func(c *TenantConfig) { c.DialPlans[0].NormalizationRules[2].Translation = `+1425$2` },
			[]ConfigError{{"dialPlans[0].normalizationRules[2].translation", `dial plan "Global" rule "Local7": translation "+1425$2": translation refers to group $2, but the pattern has 1 group`}}},
		{"duplicate rule name", func(c *TenantConfig) { c.DialPlans[0].NormalizationRules[1].Name = "Ext" },
			[]ConfigError{{"dialPlans[0].normalizationRules[1].name", `dial plan "Global": rule "Ext" is defined twice`}}},
		{"bad access prefix", func(c *TenantConfig) { c.DialPlans[1].ExternalAccessPrefix = "9a" },
			[]ConfigError{{"dialPlans[1].externalAccessPrefix", `dial plan "Redmond": "9a" must be 1 to 4 of 0-9, * and #`}}},
		{"duplicate dial plan", func(c *TenantConfig) { c.DialPlans[4].Name = "Berlin" },
			[]ConfigError{{"dialPlans[4].name", `dial plan "Berlin" is defined twice`}}},
		{"duplicate gateway", func(c *TenantConfig) { c.Gateways[1].FQDN = "SBC1.contoso.com" },
			[]ConfigError{
				{"pstnGateways[1].fqdn", `gateway "SBC1.contoso.com" is listed twice`},
				// routes naming sbc2 now name a gateway that does not exist
				{"voiceRoutes[0].onlinePstnGatewayList[1]", `voice route "US-Local" names gateway "sbc2.contoso.com", which does not exist`},
				{"voiceRoutes[3].onlinePstnGatewayList[1]", `voice route "US-NoPremium" names gateway "sbc2.contoso.com", which does not exist`},
				{"voiceRoutes[4].onlinePstnGatewayList[0]", `voice route "Seattle-B" names gateway "sbc2.contoso.com", which does not exist`},
				{"voiceRoutes[6].onlinePstnGatewayList[1]", `voice route "Intl" names gateway "sbc2.contoso.com", which does not exist`},
			}},
		{"duplicate usage", func(c *TenantConfig) { c.PstnUsages = append(c.PstnUsages, "EU") },
			[]ConfigError{{"pstnUsages[6]", `PSTN usage "EU" is listed twice`}}},
		{"emergency usage missing", func(c *TenantConfig) { c.EmergencyRoutingPolicies[0].EmergencyNumbers[0].OnlinePstnUsage = "E911" },
			[]ConfigError{{"emergencyRoutingPolicies[0].emergencyNumbers[0].onlinePstnUsage", `emergency routing policy "Global" names PSTN usage "E911", which does not exist`}}},
		{"emergency mask twice", func(c *TenantConfig) {
			c.EmergencyRoutingPolicies[0].EmergencyNumbers[0].DialMasks = []string{"112", "911"}
		},
			[]ConfigError{{"emergencyRoutingPolicies[0].emergencyNumbers[0].dialMasks[1]", `emergency routing policy "Global": "911" already means emergency number "911"`}}},
		{"emergency dial string not digits", func(c *TenantConfig) { c.EmergencyRoutingPolicies[1].EmergencyNumbers[0].DialString = "9-9-9" },
			[]ConfigError{{"emergencyRoutingPolicies[1].emergencyNumbers[0].dialString", `emergency routing policy "UK": "9-9-9" must be 1 to 15 of 0-9, * and #`}}},
		{"two problems at once", func(c *TenantConfig) {
			c.VoiceRoutes[0].NumberPattern = "("
			c.VoiceRoutingPolicies[0].Name = ""
		}, []ConfigError{
			{"voiceRoutes[0].numberPattern", `voice route "US-Local": numberPattern "(": not a valid regular expression: missing closing )`},
			{"voiceRoutingPolicies[0].name", `must not be empty`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := contoso()
			tt.modify(&cfg)
			tbl, err := Compile(cfg)
			if tbl != nil {
				t.Fatal("Compile returned a table with an error")
			}
			var got ConfigErrors
			if !errors.As(err, &got) {
				t.Fatalf("Compile error %v is not ConfigErrors", err)
			}
			if !reflect.DeepEqual([]ConfigError(got), tt.want) {
				t.Errorf("Compile errors:\n%s\nwant:\n%s", fmtErrs(got), fmtErrs(tt.want))
			}
		})
	}
}

func fmtErrs(errs []ConfigError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("  " + strconv.Quote(e.Field) + " " + strconv.Quote(e.Message) + "\n")
	}
	return b.String()
}

func TestCompileFixtures(t *testing.T) {
	for _, cfg := range []TenantConfig{contoso(), bare(), {Name: "empty"}} {
		if _, err := Compile(cfg); err != nil {
			t.Errorf("Compile(%s): %v", cfg.Name, err)
		}
	}
}

// TestImports keeps routing a pure domain package: the standard library, the
// shared kernel, regexp2 and libphonenumber only.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/switchboard-pbx/switchboard/internal/pbx": true,
		"github.com/dlclark/regexp2/v2":                       true,
		"github.com/nyaruka/phonenumbers":                     true,
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !allowed[path] {
				t.Errorf("%s imports %s, which a pure domain package must not", name, path)
			}
		}
	}
}
