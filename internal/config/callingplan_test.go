package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/numbering"
)

// TestOperatorExample loads the checked-in example: the YAML, as is.
func TestOperatorExample(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "examples", "operator.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CallingPlan == nil {
		t.Fatal("no callingPlan")
	}
	nc, ps := c.CallingPlan.Numbering()
	if len(ps) != 0 {
		t.Fatalf("problems: %+v", ps)
	}
	us := nc.Plans["US"]
	if us.Domestic.DomesticMinutes != 3000 || us.DomesticAndInternational.InternationalMinutes != 600 ||
		us.PayAsYouGo == nil || us.PayAsYouGo.DomesticMinutes != 0 {
		t.Fatalf("US plans = %+v %+v %+v", us.Domestic, us.DomesticAndInternational, us.PayAsYouGo)
	}
	if len(nc.Carriers) != 2 || nc.Carriers[1].Name != "carrier-b" || nc.Carriers[1].Priority != 2 ||
		strings.Join(nc.Carriers[1].Countries, ",") != "US,CA,GB" || nc.Carriers[0].Address != "127.0.0.1:5090" {
		t.Fatalf("carriers = %+v", nc.Carriers)
	}
	if len(nc.Rates) != 1 || nc.Rates[0].Prefix != "+44" || nc.Rates[0].PerMinute != 23000 {
		t.Fatalf("rates = %+v", nc.Rates)
	}
	if len(nc.Inventory) != 2 || nc.Inventory[0].AreaCode != "425" || nc.Inventory[1].Type != numbering.TypeService {
		t.Fatalf("inventory = %+v", nc.Inventory)
	}
}

func TestCallingPlanErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr []string
	}{
		{
			name: "unknown keys and wrong types with lines",
			content: "callingPlan:\n  countries: [US]\n  carriers:\n    - {name: a, adress: \"h:1\", countries: [US]}\n" +
				"  plans:\n    US: {Domestic: {domesticMinutes: lots}, Premium: {}}\n",
			wantErr: []string{
				"op.yaml:4: callingPlan.carriers[0].adress: unknown field",
				"op.yaml:6: callingPlan.plans.US.Domestic.domesticMinutes: expected an integer",
				"op.yaml:6: callingPlan.plans.US.Premium: unknown field",
			},
		},
		{
			name: "invalid values with lines",
			content: "callingPlan:\n  countries: [US, XX]\n  carriers:\n    - {name: a, address: nowhere, countries: [US]}\n" +
				"  rates:\n    - {prefix: \"+44\", perMinute: 0.02}\n    - {prefix: 44, perMinute: -1}\n" +
				"  numberInventory:\n    - {country: US, range: \"+14255550000\", type: user}\n  plans:\n    GB: {Domestic: {}}\n",
			wantErr: []string{
				`op.yaml:2: callingPlan.countries[1]: "XX" is not an ISO 3166 country libphonenumber knows`,
				`op.yaml:4: callingPlan.carriers[0].address: "nowhere" is not HOST:PORT`,
				"op.yaml:11: callingPlan.plans.GB: GB is not in countries: plans are only offered where the Calling Plan is sold",
				`op.yaml:7: callingPlan.rates[1].prefix: "44" is not "+" followed by 1 to 15 digits`,
				"op.yaml:7: callingPlan.rates[1].perMinute: must not be negative",
				`op.yaml:9: callingPlan.numberInventory[0].range: "+14255550000" is not FIRST-LAST, e.g. +14255550000-+14255550999`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "op.yaml", tt.content))
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			var got []string
			for _, l := range strings.Split(err.Error(), "\n") {
				got = append(got, filepath.Base(l))
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantErr, "\n") {
				t.Fatalf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.wantErr, "\n"))
			}
		})
	}
}
