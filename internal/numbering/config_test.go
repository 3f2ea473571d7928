package numbering

import (
	"errors"
	"slices"
	"testing"
)

func TestValidate(t *testing.T) {
	if ps := testConfig().Validate(); len(ps) != 0 {
		t.Fatalf("testConfig has problems: %+v", ps)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want []string // "path: message"
	}{
		{"unknown country", func(c *Config) { c.Countries = append(c.Countries, "XX", "us") },
			[]string{`countries[3]: "XX" is not an ISO 3166 country libphonenumber knows`,
				`countries[4]: "us" is not an ISO 3166 country libphonenumber knows`}},
		{"carrier problems", func(c *Config) {
			c.Carriers = append(c.Carriers, Carrier{Name: "carrier-a", Address: "127.0.0.1", Transport: "sctp", Priority: -1})
		}, []string{`carriers[3].name: "carrier-a" is already the name of another carrier`,
			`carriers[3].address: "127.0.0.1" is not HOST:PORT`, `carriers[3].transport: "sctp" is not udp, tcp or tls`,
			"carriers[3].countries: must name at least one country", "carriers[3].priority: must not be negative"}},
		{"carrier name and port", func(c *Config) {
			c.Carriers[0].Name, c.Carriers[0].Address, c.Carriers[1].Name = "a/b", "h:70000", ""
		}, []string{`carriers[0].name: "a/b" must not contain '/' or spaces`,
			`carriers[0].address: port "70000" must be a number from 1 to 65535`, "carriers[1].name: must not be empty"}},
		{"plans", func(c *Config) {
			c.Plans["FR"] = Plans{Domestic: &Allowance{DomesticMinutes: 1}}
			c.Plans["US"] = Plans{Domestic: &Allowance{DomesticMinutes: -1, InternationalMinutes: 5},
				PayAsYouGo: &Allowance{DomesticMinutes: 3}}
		}, []string{"plans.FR: FR is not in countries: plans are only offered where the Calling Plan is sold",
			"plans.US.Domestic.domesticMinutes: must not be negative",
			"plans.US.Domestic.internationalMinutes: only DomesticAndInternational includes international minutes",
			"plans.US.PayAsYouGo.domesticMinutes: PayAsYouGo includes no minutes (calls are paid by credits)"}},
		{"rates", func(c *Config) {
			c.Rates = append(c.Rates, Rate{Prefix: "44", PerMinute: 1}, Rate{Prefix: "+44", PerMinute: -1})
		}, []string{`rates[3].prefix: "44" is not "+" followed by 1 to 15 digits`, `rates[4].prefix: "+44" has another rate already`,
			"rates[4].perMinute: must not be negative"}},
		{"inventory", func(c *Config) {
			c.Inventory = append(c.Inventory,
				Range{Country: "US", Range: "+14255550500-+14255551500", Type: "user"},
				Range{Country: "US", AreaCode: "206", Range: "+14255552000-+14255552001", Type: "pbx"},
				Range{Country: "US", Range: "+14255552000", Type: "user"},
				Range{Country: "US", Range: "+1425555-+14255559999", Type: "user"},
				Range{Country: "US", Range: "+14255559999-+14255559000", Type: "user"})
		}, []string{"numberInventory[3].range: overlaps numberInventory[0]",
			`numberInventory[4].type: "pbx" is not user or service`,
			`numberInventory[4].areaCode: "206": the range +14255552000-+14255552001 is not in that area code of US`,
			`numberInventory[5].range: "+14255552000" is not FIRST-LAST, e.g. +14255550000-+14255550999`,
			`numberInventory[6].range: "+1425555" is not an E.164 number (+ and 8 to 15 digits)`,
			"numberInventory[7].range: +14255559999 is after +14255559000"}},
		{"negative durations", func(c *Config) { c.Quarantine, c.Minute = -1, -1 },
			[]string{"quarantineDays: must not be negative", "testMinuteSeconds: must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.edit(&c)
			var got []string
			for _, p := range c.Validate() {
				got = append(got, p.Path+": "+p.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Validate =\n  %v\nwant\n  %v", got, tt.want)
			}
			if _, err := New(c, Deps{Store: newMemStore()}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("New accepted an invalid config: %v", err)
			}
		})
	}
}

func TestMoney(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Money
		text string
		err  bool
	}{
		{"5", 5 * Unit, "5", false}, {"0.023", 23000, "0.023", false}, {"-1.5", -1500000, "-1.5", false},
		{"+2.000001", 2000001, "2.000001", false}, {".5", 500000, "0.5", false}, {"3.", 3 * Unit, "3", false},
		{"0", 0, "0", false}, {"1.0000001", 0, "", true}, {"abc", 0, "", true}, {"", 0, "", true}, {".", 0, "", true},
		{"1e3", 0, "", true}, {"99999999999999", 0, "", true}, {"1,5", 0, "", true},
	} {
		got, err := ParseMoney(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMoney(%q) = %v, %v", tt.in, got, err)
			continue
		}
		if !tt.err && got.String() != tt.text {
			t.Errorf("%q formats as %q, want %q", tt.in, got.String(), tt.text)
		}
	}
	if m, err := MoneyFromFloat(0.023); err != nil || m != 23000 {
		t.Errorf("MoneyFromFloat(0.023) = %v, %v", m, err)
	}
	var m Money
	if err := m.UnmarshalJSON([]byte(`"1.25"`)); err != nil || m != 1250000 {
		t.Errorf("UnmarshalJSON = %v, %v", m, err)
	}
	if b, _ := Money(1250000).MarshalJSON(); string(b) != "1.25" {
		t.Errorf("MarshalJSON = %s", b)
	}
	if Money(maxMoney).times(1000) != maxMoney || Money(7).times(-1) != 0 {
		t.Error("times does not saturate")
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		number, region, typ string
		premium             bool
		err                 bool
	}{
		{"+14255550100", "US", "fixedLineOrMobile", false, false},
		{"+16135550100", "CA", "fixedLineOrMobile", false, false},
		{"+442079460123", "GB", "fixedLine", false, false},
		{"+449098790879", "GB", "premiumRate", true, false},
		{"+19002345678", "US", "premiumRate", true, false},
		{"+18005550100", "US", "tollFree", false, false},
		{"+447700900123", "GB", "unknown", false, false}, // not valid for libphonenumber: main country of +44
		{"+12", "", "", false, true},
		{"14255550100", "", "", false, true},
		{"+999123456", "", "", false, true},
		{"+1425555010a", "", "", false, true},
	} {
		d, err := Classify(tt.number)
		if (err != nil) != tt.err || d.Region != tt.region || d.Type != tt.typ || d.Premium != tt.premium {
			t.Errorf("Classify(%s) = %+v, %v", tt.number, d, err)
		}
	}
	for _, tt := range []struct {
		dial, country string
		want          bool
	}{{"911", "US", true}, {"112", "GB", true}, {"999", "GB", true}, {"911", "GB", false}, {"933", "US", false}, {"911", "", false}} {
		if got := IsEmergency(tt.dial, tt.country); got != tt.want {
			t.Errorf("IsEmergency(%s, %s) = %v", tt.dial, tt.country, got)
		}
	}
}
