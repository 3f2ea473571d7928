package provision

import (
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// validDoc returns a fresh valid document; tests mutate their copy.
func validDoc() Document {
	return Document{
		Tenant:  "contoso",
		Domains: []string{"contoso.com", "contoso.net"},
		Users: []UserSpec{
			{SIPAddress: "alice@contoso.com", DisplayName: "Alice Smith", Password: "alice-secret", Extension: "1001", LineURI: "+14255550100"},
			{SIPAddress: "bob@contoso.net", Password: "bob-secret", Extension: "1002", LineURI: "tel:+14255550101;ext=101"},
		},
	}
}

func TestValidateValid(t *testing.T) {
	tests := []struct {
		name string
		edit func(d *Document)
	}{
		{"full", func(*Document) {}},
		{"no users", func(d *Document) { d.Users = nil }},
		{"only required fields", func(d *Document) {
			d.Users = []UserSpec{{SIPAddress: "alice@contoso.com", Password: "12345678"}}
		}},
		{"empty password is left to Apply", func(d *Document) { d.Users[0].Password = "" }},
		{"needs canonicalising", func(d *Document) {
			d.Tenant = "  contoso "
			d.Domains = []string{" Contoso.COM ", "contoso.net"}
			d.Users[0].SIPAddress = " sip:Alice@Contoso.com"
			d.Users[1].LineURI = "TEL:+14255550101;EXT=101"
		}},
		{"unassigned but well-formed number", func(d *Document) { d.Users[0].LineURI = "+14255550199" }},
		{"15 digit number", func(d *Document) { d.Users[0].LineURI = "+123456789012345" }},
		{"same number, different ext", func(d *Document) {
			d.Users[0].LineURI = "+14255550100;ext=1"
			d.Users[1].LineURI = "+14255550100;ext=2"
		}},
		{"63 char tenant", func(d *Document) { d.Tenant = "a" + strings.Repeat("-", 61) + "z" }},
		{"100 char display name", func(d *Document) { d.Users[0].DisplayName = strings.Repeat("é", 100) }},
		{"user part punctuation", func(d *Document) { d.Users[0].SIPAddress = "alice.smith+desk@contoso.com" }},
		{"subdomain with hyphen", func(d *Document) {
			d.Domains = append(d.Domains, "sip-1.eu.contoso.com")
		}},
		{"calling plan allow-list", func(d *Document) {
			d.Settings = &Settings{CallingPlan: &CallingPlanSettings{InternationalCountries: []string{"GB", " ca "},
				PremiumRateCountries: []string{"US"}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDoc()
			tt.edit(&d)
			if errs := Validate(d); errs != nil {
				t.Fatalf("Validate() = %v, want no errors", errs)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(d *Document)
		want ValidationErrors
	}{
		{"calling plan allow-list", func(d *Document) {
			d.Settings = &Settings{CallingPlan: &CallingPlanSettings{InternationalCountries: []string{"GB", "XX", "gb"},
				PremiumRateCountries: []string{""}}}
		}, ValidationErrors{
			{"settings.callingPlan.internationalCountries[1]", `"XX" is not an ISO 3166 country code known to the numbering plan (e.g. US, GB, DE)`},
			{"settings.callingPlan.internationalCountries[2]", `duplicate country "GB" (also settings.callingPlan.internationalCountries[0])`},
			{"settings.callingPlan.premiumRateCountries[0]", "must not be empty"},
		}},
		{"empty tenant", func(d *Document) { d.Tenant = " " },
			ValidationErrors{{"tenant", "must not be empty"}}},
		{"uppercase tenant", func(d *Document) { d.Tenant = "Contoso" },
			ValidationErrors{{"tenant", `"Contoso" is not a valid tenant name (expected 1 to 63 lowercase letters, digits or '-', starting with a letter or digit)`}}},
		{"tenant starting with hyphen", func(d *Document) { d.Tenant = "-contoso" },
			ValidationErrors{{"tenant", `"-contoso" is not a valid tenant name (expected 1 to 63 lowercase letters, digits or '-', starting with a letter or digit)`}}},
		{"64 char tenant", func(d *Document) { d.Tenant = strings.Repeat("a", 64) },
			ValidationErrors{{"tenant", `"` + strings.Repeat("a", 64) + `" is not a valid tenant name (expected 1 to 63 lowercase letters, digits or '-', starting with a letter or digit)`}}},
		{"no domains", func(d *Document) { d.Domains = []string{}; d.Users = nil },
			ValidationErrors{{"domains", "at least one domain is required"}}},
		{"domain with space", func(d *Document) { d.Domains[0] = "contoso com" },
			ValidationErrors{
				{"domains[0]", `"contoso com" is not a valid domain name`},
				{"users[0].sipAddress", `domain "contoso.com" is not one of the tenant's domains`},
			}},
		{"single label domain", func(d *Document) { d.Domains[1] = "localhost"; d.Users = nil },
			ValidationErrors{{"domains[1]", `"localhost" is not a valid domain name`}}},
		{"ip address as domain", func(d *Document) { d.Domains[1] = "10.0.0.1"; d.Users = nil },
			ValidationErrors{{"domains[1]", `"10.0.0.1" is not a valid domain name`}}},
		{"label ending with hyphen", func(d *Document) { d.Domains[1] = "contoso-.net"; d.Users = nil },
			ValidationErrors{{"domains[1]", `"contoso-.net" is not a valid domain name`}}},
		{"empty domain", func(d *Document) { d.Domains[1] = ""; d.Users = nil },
			ValidationErrors{{"domains[1]", "must not be empty"}}},
		{"duplicate domain after canonicalising", func(d *Document) { d.Domains[1] = "CONTOSO.com" },
			ValidationErrors{
				{"domains[1]", `duplicate domain "contoso.com" (also domains[0])`},
				{"users[1].sipAddress", `domain "contoso.net" is not one of the tenant's domains`},
			}},
		{"edge trunk over tcp", func(d *Document) {
			d.Edges = []Edge{{Name: "redmond", SIPAddress: "edge1.contoso.com:5061", Transport: "TCP"}}
		}, ValidationErrors{{"edges[0].transport", `"tcp" is not a trunk transport (expected udp or tls)`}}},
		{"empty sip address", func(d *Document) { d.Users[1].SIPAddress = "" },
			ValidationErrors{{"users[1].sipAddress", "must not be empty"}}},
		{"sip address without domain", func(d *Document) { d.Users[0].SIPAddress = "alice" },
			ValidationErrors{{"users[0].sipAddress", `"alice" is not a valid sip address (expected user@domain)`}}},
		{"sip address with space", func(d *Document) { d.Users[0].SIPAddress = "al ice@contoso.com" },
			ValidationErrors{{"users[0].sipAddress", `"al ice@contoso.com" is not a valid sip address (expected user@domain)`}}},
		{"sip address in foreign domain", func(d *Document) { d.Users[1].SIPAddress = "bob@fabrikam.com" },
			ValidationErrors{{"users[1].sipAddress", `domain "fabrikam.com" is not one of the tenant's domains`}}},
		{"duplicate sip address", func(d *Document) { d.Users[1].SIPAddress = "Alice@contoso.com" },
			ValidationErrors{{"users[1].sipAddress", `duplicate sip address "alice@contoso.com" (also users[0])`}}},
		{"short password", func(d *Document) { d.Users[0].Password = "1234567" },
			ValidationErrors{{"users[0].password", "must be at least 8 characters"}}},
		{"bad extension", func(d *Document) { d.Users[0].Extension = "10a" },
			ValidationErrors{{"users[0].extension", `"10a" is not a valid extension (expected 2 to 10 digits)`}}},
		{"one digit extension", func(d *Document) { d.Users[0].Extension = "7" },
			ValidationErrors{{"users[0].extension", `"7" is not a valid extension (expected 2 to 10 digits)`}}},
		{"duplicate extension", func(d *Document) { d.Users[1].Extension = "1001" },
			ValidationErrors{{"users[1].extension", `duplicate extension "1001" (also users[0])`}}},
		{"short number", func(d *Document) { d.Users[0].LineURI = "+1425" },
			ValidationErrors{{"users[0].lineUri", `"+1425" is not an E.164 number (expected + and 8 to 15 digits)`}}},
		{"number without plus", func(d *Document) { d.Users[0].LineURI = "tel:14255550100" },
			ValidationErrors{{"users[0].lineUri", `"14255550100" is not an E.164 number (expected + and 8 to 15 digits)`}}},
		{"16 digit number", func(d *Document) { d.Users[0].LineURI = "+1234567890123456" },
			ValidationErrors{{"users[0].lineUri", `"+1234567890123456" is not an E.164 number (expected + and 8 to 15 digits)`}}},
		{"unknown country code", func(d *Document) { d.Users[0].LineURI = "+99912345678" },
			ValidationErrors{{"users[0].lineUri", `"+99912345678" is not an E.164 number (unknown country code)`}}},
		{"bad line extension", func(d *Document) { d.Users[0].LineURI = "+14255550100;ext=ab" },
			ValidationErrors{{"users[0].lineUri", `"+14255550100;ext=ab" has an invalid extension (expected ;ext= and 1 to 10 digits)`}}},
		{"duplicate lineUri with and without tel:", func(d *Document) {
			d.Users[0].LineURI = "+14255550101;ext=101"
		}, ValidationErrors{{"users[1].lineUri", `duplicate lineUri "tel:+14255550101;ext=101" (also users[0])`}}},
		{"long display name", func(d *Document) { d.Users[0].DisplayName = strings.Repeat("x", 101) },
			ValidationErrors{{"users[0].displayName", "must be at most 100 characters"}}},
		{"control character in display name", func(d *Document) { d.Users[1].DisplayName = "Bob\x07" },
			ValidationErrors{{"users[1].displayName", "must not contain control characters"}}},
		{"every problem in document order", func(d *Document) {
			d.Tenant = ""
			d.Domains[1] = "contoso..net"
			d.Users[0].Extension = "x"
			d.Users[0].Password = "short"
			d.Users[1].SIPAddress = "bob"
			d.Users[1].Extension = "1001x"
		}, ValidationErrors{
			{"tenant", "must not be empty"},
			{"domains[1]", `"contoso..net" is not a valid domain name`},
			{"users[0].password", "must be at least 8 characters"},
			{"users[0].extension", `"x" is not a valid extension (expected 2 to 10 digits)`},
			{"users[1].sipAddress", `"bob" is not a valid sip address (expected user@domain)`},
			{"users[1].extension", `"1001x" is not a valid extension (expected 2 to 10 digits)`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDoc()
			tt.edit(&d)
			got := Validate(d)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	in := Document{
		Tenant:  " contoso ",
		Domains: []string{" Contoso.COM"},
		Users: []UserSpec{{
			SIPAddress: " SIP:Alice@Contoso.COM ", DisplayName: " Alice ", Password: " pass word ",
			Extension: " 1001 ", LineURI: " TEL:+14255550100;EXT=1 ",
		}},
	}
	want := Document{
		Tenant:  "contoso",
		Domains: []string{"contoso.com"},
		Users: []UserSpec{{
			SIPAddress: "alice@contoso.com", DisplayName: "Alice", Password: " pass word ",
			Extension: "1001", LineURI: "tel:+14255550100;ext=1", Home: HomeOnline,
			CallingSettings: &pbx.CallingSettings{UnansweredDelaySeconds: DefaultUnansweredDelaySeconds},
		}},
	}
	got := Canonical(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Canonical() = %+v, want %+v", got, want)
	}
	if in.Domains[0] != " Contoso.COM" || in.Users[0].SIPAddress != " SIP:Alice@Contoso.COM " {
		t.Error("Canonical modified its input")
	}
	if !reflect.DeepEqual(Canonical(got), got) {
		t.Error("Canonical is not idempotent")
	}
}

func TestValidationErrorsError(t *testing.T) {
	errs := ValidationErrors{{"tenant", "must not be empty"}, {"domains", "at least one domain is required"}}
	want := "tenant: must not be empty; domains: at least one domain is required"
	if errs.Error() != want {
		t.Errorf("Error() = %q, want %q", errs.Error(), want)
	}
}
