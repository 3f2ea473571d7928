package routing

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestNormalize(t *testing.T) {
	tbl := compileFixture(t, contoso(), 1)
	cs := callers()
	tests := []struct {
		caller, dial string
		want         Normalization
	}{
		{"redmond", "9 (555) 0142", Normalization{Input: "9 (555) 0142", Stripped: "95550142", AccessPrefix: "9", Matched: "5550142",
			DialPlan: "Redmond", Source: SourceDialPlan, Rule: "Local7", Output: "+14255550142"}},
		{"redmond", "1001", Normalization{Input: "1001", Stripped: "1001", Matched: "1001",
			DialPlan: "Redmond", Source: SourceDialPlan, Rule: "Ext4", Output: "1001", IsInternalExtension: true}},
		{"alice", "+44 20 7946 0000", Normalization{Input: "+44 20 7946 0000", Stripped: "+442079460000", Matched: "+442079460000",
			DialPlan: "Global", Source: SourceE164, Output: "+442079460000"}},
		{"paris", "01 23 45 67 89", Normalization{Input: "01 23 45 67 89", Stripped: "0123456789", Matched: "0123456789",
			DialPlan: "Paris", Country: "FR", Source: SourceCountry, Rule: "FR national (trunk prefix 0)", Output: "+33123456789"}},
		{"nowhere", "12", Normalization{Input: "12", Stripped: "12", Matched: "12", DialPlan: "Global", Source: SourceNone, Output: "12"}},
		{"mars", "12", Normalization{Input: "12", Stripped: "12", Matched: "12", DialPlan: "Global", Source: SourceNone, Output: "12",
			Warnings: []string{`usageLocation "XX" is not a country libphonenumber knows: no country rules`}}},
	}
	for _, tt := range tests {
		got, err := tbl.Normalize(cs[tt.caller], tt.dial)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Normalize(%s, %q) =\n %+v, %v\nwant\n %+v", tt.caller, tt.dial, got, err, tt.want)
		}
	}
	if _, err := tbl.Normalize(cs["badPlan"], "1"); err == nil || err.Error() != `dial plan "Nope" does not exist` {
		t.Errorf("Normalize with an unknown dial plan: %v", err)
	}
}

// TestCountryRules checks the libphonenumber-derived rules on more regions
// than the golden file: the international prefix, the trunk prefix, and
// numbers that are left alone.
func TestCountryRules(t *testing.T) {
	tbl := compileFixture(t, TenantConfig{Name: "t"}, 1)
	tests := []struct{ region, dial, want, rule string }{
		{"US", "4255550100", "+14255550100", "US national"},
		{"US", "14255550100", "+14255550100", "US national (trunk prefix 1)"},
		{"US", "011493012345678", "+493012345678", "US international (011)"},
		{"US", "5550100", "5550100", ""}, // local only: no area code
		{"US", "911", "911", ""},
		{"CA", "6135550100", "+16135550100", "CA national"},
		{"GB", "02079460000", "+442079460000", "GB national (trunk prefix 0)"},
		{"GB", "2079460000", "2079460000", ""}, // GB numbers are dialled with the 0
		{"GB", "0044", "0044", ""},
		{"DE", "03012345678", "+493012345678", "DE national (trunk prefix 0)"},
		{"DE", "00442079460000", "+442079460000", "DE international (00)"},
		{"FR", "0612345678", "+33612345678", "FR national (trunk prefix 0)"},
		{"FR", "612345678", "612345678", ""},
		{"IT", "0612345678", "+390612345678", "IT national"}, // no trunk prefix: the 0 is part of the number
		{"AU", "0011442079460000", "+442079460000", "AU international (0011)"},
		{"AU", "0212345678", "+61212345678", "AU national (trunk prefix 0)"},
		{"JP", "0312345678", "+81312345678", "JP national (trunk prefix 0)"},
		{"JP", "010442079460000", "+442079460000", "JP international (010)"},
		{"ZZ", "0612345678", "0612345678", ""},
	}
	for _, tt := range tests {
		n, err := tbl.Normalize(Caller{UsageLocation: tt.region}, tt.dial)
		if err != nil || n.Output != tt.want || n.Rule != tt.rule {
			t.Errorf("%s %q → %q by %q (%v); want %q by %q", tt.region, tt.dial, n.Output, n.Rule, err, tt.want, tt.rule)
		}
	}
}

// TestGatewayOrder checks the shuffle over many seeds: every usable gateway
// is listed once, Active ones before Demoted ones, Disabled ones never, and
// each Active gateway comes first some of the time.
func TestGatewayOrder(t *testing.T) {
	cfg := contoso()
	c := callers()["alice"]
	health := func(fqdn string) Status {
		switch fqdn {
		case "sbc3.contoso.com":
			return Demoted
		case "sbc-eu1.contoso.com":
			return Disabled
		}
		return Active
	}
	cfg.VoiceRoutes[0].OnlinePstnGatewayList = []string{sbc1, sbc2, sbc3, "sbc-eu1.contoso.com", "sbc-emergency.contoso.com"}
	first := map[string]int{}
	for seed := range uint64(200) {
		d := compileFixture(t, cfg, seed).Route(c, "+14255550123", health)
		r := d.Routes[0]
		if len(r.Gateways) != 4 || r.Gateways[3] != sbc3 || r.Status[3] != Demoted ||
			!reflect.DeepEqual(r.Excluded, []string{"sbc-eu1.contoso.com"}) {
			t.Fatalf("seed %d: %+v", seed, r)
		}
		seen := map[string]bool{}
		for _, g := range r.Gateways {
			seen[g] = true
		}
		if len(seen) != 4 {
			t.Fatalf("seed %d: gateway listed twice: %v", seed, r.Gateways)
		}
		first[r.Gateways[0]]++
	}
	for _, g := range []string{sbc1, sbc2, "sbc-emergency.contoso.com"} {
		if first[g] < 30 {
			t.Errorf("%s came first %d times in 200: not shuffled? %v", g, first[g], first)
		}
	}
}

// TestRouteConcurrent runs Route from many goroutines on one table with the
// default random source (go test -race).
func TestRouteConcurrent(t *testing.T) {
	tbl, err := Compile(contoso(), WithResolver(testDirectory()))
	if err != nil {
		t.Fatal(err)
	}
	cs := callers()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				dial := []string{"911", "(206) 555-0100", "020 7946 0000", "1002", "+81312345678"}[(i+j)%5]
				caller := []string{"alice", "london", "paris", "berlin"}[j%4]
				if d := tbl.Route(cs[caller], dial, nil); d.Target == "" {
					t.Errorf("no target for %s %q", caller, dial)
				}
			}
		})
	}
	wg.Wait()
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "+", "9", "911", "1002", "(425) 555-0100", "9 011 44 20 7946 0000", "0033123456789",
		"bob@contoso.com", "1-800-FLOWERS", "\x00", "+\n", "99999999999999999999999999999999", "٤٢٥", "0\xff", "*72#"} {
		f.Add(s, "US")
		f.Add(s, "GB")
	}
	f.Add("0612345678", "fr")
	f.Add("1234567", "")
	tbl := compileFixture(f, contoso(), 1)
	f.Fuzz(func(t *testing.T, dial, region string) {
		if len(region) > 3 {
			region = region[:3]
		}
		for _, name := range []string{"alice", "redmond", "london", "berlin"} {
			c := callers()[name]
			c.UsageLocation = region
			n, err := tbl.Normalize(c, dial)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if n.Stripped != StripSeparators(dial) || strings.ContainsAny(n.Stripped, " -.()") {
				t.Fatalf("stripped %q from %q", n.Stripped, dial)
			}
			if strings.HasPrefix(n.Stripped, "+") && n.Output != n.Stripped {
				t.Fatalf("+ string normalised: %q → %q", n.Stripped, n.Output)
			}
			if n.Source == SourceCountry && !strings.HasPrefix(n.Output, "+") {
				t.Fatalf("country rule %q gave %q", n.Rule, n.Output)
			}
			d := tbl.Explain(c, dial, nil)
			if d.Target == "" || (d.Target == TargetRejected) != (d.Reason != "") {
				t.Fatalf("decision %+v", d)
			}
			if _, err := json.Marshal(d); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzCompileTranslation(f *testing.F) {
	f.Add(`^(\d{4})$`, `+1425555$1`, "1234")
	f.Add(`^\+1(?!(900|976))\d{10}$`, `$0`, "+14255550100")
	f.Add(`^(?<a>\d)(\d)$`, `${a}$2$$`, "12")
	f.Add(`(\d+)+$`, "$`$'$+$_", "1111111111111111111111x")
	f.Add(`[0-9-[5]]`, `${`, "5")
	f.Fuzz(func(t *testing.T, pattern, translation, in string) {
		if len(in) > 64 {
			in = in[:64]
		}
		tr, err := CompileTranslation(pattern, translation)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if out, ok, _ := tr.Apply(in); !ok && out != "" {
			t.Fatalf("no match but output %q", out)
		}
		if _, err := tr.Pattern.MatchString(in); err != nil && !strings.Contains(err.Error(), "timeout") && !strings.Contains(err.Error(), "stack") {
			t.Fatalf("unexpected match error %v", err)
		}
	})
}
