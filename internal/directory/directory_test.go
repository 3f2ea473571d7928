package directory

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestResolve(t *testing.T) {
	d := Build(
		[]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}, {Name: "fabrikam", Domains: []string{"fabrikam.com"}}},
		[]pbx.User{
			{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001", LineURI: "+14255550101"},
			{Tenant: "contoso", SIPAddress: "bob@contoso.com", Extension: "1002", LineURI: "tel:+14255550102;ext=102"},
			{Tenant: "fabrikam", SIPAddress: "carol@fabrikam.com", Extension: "1001"},
		})
	cases := []struct {
		tenant, target, want string
	}{
		{"contoso", "1001", "alice@contoso.com"},
		{"contoso", "alice@contoso.com", "alice@contoso.com"},
		{"contoso", "ALICE@Contoso.com", "alice@contoso.com"},
		{"contoso", "alice", "alice@contoso.com"},
		{"contoso", "+14255550101", "alice@contoso.com"},
		{"contoso", "+14255550102", "bob@contoso.com"},
		{"contoso", "1002@10.0.0.1", "bob@contoso.com"},
		{"fabrikam", "1001", "carol@fabrikam.com"},
		{"fabrikam", "alice@contoso.com", ""}, // another tenant's user is not visible
		{"contoso", "carol@fabrikam.com", ""},
		{"contoso", "9999", ""},
		{"contoso", "", ""},
	}
	for _, c := range cases {
		u, ok := d.Resolve(c.tenant, c.target)
		got := ""
		if ok {
			got = u.SIPAddress
		}
		if got != c.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", c.tenant, c.target, got, c.want)
		}
	}
	if tn, ok := d.TenantOfDomain("CONTOSO.COM"); !ok || tn != "contoso" {
		t.Errorf("TenantOfDomain = %q %v", tn, ok)
	}
}

func TestHolderSwap(t *testing.T) {
	h := NewHolder()
	if _, ok := h.Load().TenantOfDomain("contoso.com"); ok {
		t.Fatal("empty holder knows a domain")
	}
	h.Store(Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, nil))
	if _, ok := h.Load().TenantOfDomain("contoso.com"); !ok {
		t.Fatal("swap not visible")
	}
}
