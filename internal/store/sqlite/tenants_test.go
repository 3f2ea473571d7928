package sqlite

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

func cred(realm, user, alg, ha1 string) pbx.Credential {
	return pbx.Credential{Realm: realm, Username: user, Algorithm: alg, HA1: ha1}
}

// contoso returns a tenant and its users as ApplyTenant takes them and as
// Users returns them (sorted, lowercase, tenant set).
func contoso() (pbx.Tenant, []pbx.User) {
	return pbx.Tenant{Name: "contoso", Domains: []string{"sip.contoso.com", "contoso.com"}},
		[]pbx.User{
			{
				Tenant: "contoso", SIPAddress: "alice@contoso.com", DisplayName: "Alice",
				Extension: "100", LineURI: "tel:+15550100",
				Credentials: []pbx.Credential{
					cred("contoso.com", "alice", pbx.AlgMD5, "md5-a"),
					cred("contoso.com", "alice", pbx.AlgSHA256, "sha-a"),
				},
			},
			{
				Tenant: "contoso", SIPAddress: "bob@contoso.com", DisplayName: "Bob",
				Extension: "101",
				Credentials: []pbx.Credential{
					cred("contoso.com", "bob", pbx.AlgMD5, "md5-b"),
				},
			},
			{Tenant: "contoso", SIPAddress: "lobby@contoso.com"},
		}
}

func fabrikam() (pbx.Tenant, []pbx.User) {
	return pbx.Tenant{Name: "fabrikam", Domains: []string{"fabrikam.com"}},
		[]pbx.User{{
			Tenant: "fabrikam", SIPAddress: "carol@fabrikam.com", Extension: "100", LineURI: "tel:+15550200",
			Credentials: []pbx.Credential{cred("fabrikam.com", "carol", pbx.AlgMD5, "md5-c")},
		}}
}

// snapshot is everything ApplyTenant may change.
type snapshot struct {
	Tenants []pbx.Tenant
	Users   []pbx.User
}

func takeSnapshot(t *testing.T, db *DB) snapshot {
	t.Helper()
	tenants, err := db.Tenants(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	users, err := db.Users(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{tenants, users}
}

func TestApplyTenantRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	if got, err := db.Tenants(ctx); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Tenants on empty store = %#v, %v; want empty non-nil", got, err)
	}
	if got, err := db.Users(ctx, ""); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Users on empty store = %#v, %v; want empty non-nil", got, err)
	}

	ct, cu := contoso()
	// Input in any order and case, tenant left empty on a user: stored normalised.
	in := []pbx.User{cu[2], cu[1], cu[0]}
	in[0].Tenant = ""
	in[2].SIPAddress = "Alice@Contoso.COM"
	ct.Domains = append(ct.Domains, "CONTOSO.com")
	if err := db.ApplyTenant(ctx, ct, in); err != nil {
		t.Fatal(err)
	}
	ft, fu := fabrikam()
	if err := db.ApplyTenant(ctx, ft, fu); err != nil {
		t.Fatal(err)
	}
	empty := pbx.Tenant{Name: "empty"}
	if err := db.ApplyTenant(ctx, empty, nil); err != nil {
		t.Fatal(err)
	}

	wantTenants := []pbx.Tenant{
		{Name: "contoso", Domains: []string{"contoso.com", "sip.contoso.com"}},
		{Name: "empty", Domains: []string{}},
		{Name: "fabrikam", Domains: []string{"fabrikam.com"}},
	}
	if got, err := db.Tenants(ctx); err != nil || !reflect.DeepEqual(got, wantTenants) {
		t.Errorf("Tenants = %+v, %v\nwant %+v", got, err, wantTenants)
	}
	if got, err := db.Users(ctx, "contoso"); err != nil || !reflect.DeepEqual(got, cu) {
		t.Errorf("Users(contoso) = %+v, %v\nwant %+v", got, err, cu)
	}
	all := []pbx.User{cu[0], cu[1], fu[0], cu[2]} // by sip address across tenants
	if got, err := db.Users(ctx, ""); err != nil || !reflect.DeepEqual(got, all) {
		t.Errorf("Users(\"\") = %+v, %v\nwant %+v", got, err, all)
	}
	if got, err := db.Users(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("Users(nobody) = %+v, %v; want none", got, err)
	}

	// Applying the same thing again changes nothing.
	before := takeSnapshot(t, db)
	if err := db.ApplyTenant(ctx, ct, in); err != nil {
		t.Fatal(err)
	}
	if after := takeSnapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Errorf("re-apply changed the store:\n%+v\n%+v", before, after)
	}
}

func TestApplyTenantReplaces(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	ct, cu := contoso()
	if err := db.ApplyTenant(ctx, ct, cu); err != nil {
		t.Fatal(err)
	}
	ft, fu := fabrikam()
	if err := db.ApplyTenant(ctx, ft, fu); err != nil {
		t.Fatal(err)
	}
	var createdBefore string
	if err := db.r.QueryRowContext(ctx, `SELECT created_at FROM users WHERE sip_address = 'alice@contoso.com'`).
		Scan(&createdBefore); err != nil {
		t.Fatal(err)
	}

	// Drop a domain and add one; remove bob and lobby; alice changes
	// everything, takes bob's extension and gets a new credential set; dave is new.
	ct.Domains = []string{"contoso.com", "voice.contoso.com"}
	alice := cu[0]
	alice.DisplayName = "Alice Smith"
	alice.Extension = "101"
	alice.LineURI = "tel:+15550111"
	alice.Credentials = []pbx.Credential{cred("contoso.com", "alice", pbx.AlgSHA256, "sha-a2")}
	dave := pbx.User{Tenant: "contoso", SIPAddress: "dave@contoso.com", Extension: "100", LineURI: "tel:+15550100"}
	if err := db.ApplyTenant(ctx, ct, []pbx.User{dave, alice}); err != nil {
		t.Fatal(err)
	}

	want := snapshot{
		Tenants: []pbx.Tenant{
			{Name: "contoso", Domains: []string{"contoso.com", "voice.contoso.com"}},
			{Name: "fabrikam", Domains: []string{"fabrikam.com"}},
		},
		Users: []pbx.User{alice, fu[0], dave},
	}
	if got := takeSnapshot(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("after replace:\n got %+v\nwant %+v", got, want)
	}
	// Credentials of removed users are gone with them.
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM credentials WHERE sip_address = 'bob@contoso.com'`).
		Scan(&n); err != nil || n != 0 {
		t.Errorf("bob's credentials: %d, %v; want 0", n, err)
	}
	var createdAfter string
	if err := db.r.QueryRowContext(ctx, `SELECT created_at FROM users WHERE sip_address = 'alice@contoso.com'`).
		Scan(&createdAfter); err != nil || createdAfter != createdBefore {
		t.Errorf("alice created_at = %q, %v; want unchanged %q", createdAfter, err, createdBefore)
	}

	// Two users swap extensions and line URIs in one apply.
	alice.Extension, dave.Extension = dave.Extension, alice.Extension
	alice.LineURI, dave.LineURI = dave.LineURI, alice.LineURI
	if err := db.ApplyTenant(ctx, ct, []pbx.User{alice, dave}); err != nil {
		t.Fatalf("swap: %v", err)
	}
	if got, err := db.Users(ctx, "contoso"); err != nil || !reflect.DeepEqual(got, []pbx.User{alice, dave}) {
		t.Errorf("after swap Users = %+v, %v", got, err)
	}

	// No users: the tenant keeps existing, empty.
	if err := db.ApplyTenant(ctx, pbx.Tenant{Name: "contoso"}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Users(ctx, "contoso"); err != nil || len(got) != 0 {
		t.Errorf("after emptying Users = %+v, %v", got, err)
	}
}

func TestApplyTenantConflictsChangeNothing(t *testing.T) {
	t.Parallel()
	ct, cu := contoso()
	ft, fu := fabrikam()
	withUser := func(u pbx.User) []pbx.User { return append(append([]pbx.User{}, cu...), u) }

	tests := []struct {
		name   string
		tenant pbx.Tenant
		users  []pbx.User
		want   []string // in the error message
	}{
		{
			name:   "domain of another tenant",
			tenant: pbx.Tenant{Name: "contoso", Domains: []string{"contoso.com", "Fabrikam.com"}},
			users:  cu,
			want:   []string{"domain", `"fabrikam.com"`},
		},
		{
			name:   "new tenant claims a domain",
			tenant: pbx.Tenant{Name: "tailspin", Domains: []string{"contoso.com"}},
			want:   []string{"domain", `"contoso.com"`},
		},
		{
			name:   "sip address of another tenant",
			tenant: ct,
			users:  withUser(pbx.User{SIPAddress: "carol@fabrikam.com"}),
			want:   []string{"sip_address", `"carol@fabrikam.com"`},
		},
		{
			name:   "line uri of another tenant",
			tenant: ct,
			users:  withUser(pbx.User{SIPAddress: "zed@contoso.com", LineURI: "tel:+15550200"}),
			want:   []string{"line_uri", `"tel:+15550200"`},
		},
		{
			name:   "extension twice in the tenant",
			tenant: ct,
			users:  withUser(pbx.User{SIPAddress: "zed@contoso.com", Extension: "101"}),
			want:   []string{"extension", `"101"`, "bob@contoso.com"},
		},
		{
			name:   "line uri twice in the tenant",
			tenant: ct,
			users:  withUser(pbx.User{SIPAddress: "zed@contoso.com", LineURI: "tel:+15550100"}),
			want:   []string{"line_uri", `"tel:+15550100"`, "alice@contoso.com"},
		},
		{
			name:   "user listed twice",
			tenant: ct,
			users:  withUser(pbx.User{SIPAddress: "BOB@contoso.com"}),
			want:   []string{"sip_address", `"bob@contoso.com"`},
		},
		{
			name:   "credential listed twice",
			tenant: ct,
			users: withUser(pbx.User{SIPAddress: "zed@contoso.com", Credentials: []pbx.Credential{
				cred("contoso.com", "zed", pbx.AlgMD5, "x"), cred("contoso.com", "zed", pbx.AlgMD5, "y"),
			}}),
			want: []string{"credential", "zed@contoso.com"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := openTest(t)
			if err := db.ApplyTenant(ctx, ct, cu); err != nil {
				t.Fatal(err)
			}
			if err := db.ApplyTenant(ctx, ft, fu); err != nil {
				t.Fatal(err)
			}
			before := takeSnapshot(t, db)

			err := db.ApplyTenant(ctx, tc.tenant, tc.users)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("ApplyTenant = %v, want ErrConflict", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			if after := takeSnapshot(t, db); !reflect.DeepEqual(before, after) {
				t.Errorf("failed apply changed the store:\nbefore %+v\n after %+v", before, after)
			}
		})
	}
}

func TestApplyTenantRejectsInvalidInput(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	for name, tc := range map[string]struct {
		tenant pbx.Tenant
		users  []pbx.User
	}{
		"empty tenant name":    {pbx.Tenant{}, nil},
		"empty domain":         {pbx.Tenant{Name: "x", Domains: []string{""}}, nil},
		"empty sip address":    {pbx.Tenant{Name: "x"}, []pbx.User{{}}},
		"user of other tenant": {pbx.Tenant{Name: "x"}, []pbx.User{{Tenant: "y", SIPAddress: "a@x.com"}}},
	} {
		err := db.ApplyTenant(t.Context(), tc.tenant, tc.users)
		if err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: ApplyTenant = %v, want a non-conflict error", name, err)
		}
	}
	if got := takeSnapshot(t, db); len(got.Tenants) != 0 || len(got.Users) != 0 {
		t.Errorf("invalid applies stored %+v", got)
	}
}

func TestApplyTenantDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	ct, cu := contoso()
	cu[0].SIPAddress = "ALICE@contoso.com"
	if err := db.ApplyTenant(ctx, ct, cu); err != nil {
		t.Fatal(err)
	}
	if cu[0].SIPAddress != "ALICE@contoso.com" || ct.Domains[0] != "sip.contoso.com" {
		t.Errorf("ApplyTenant modified its arguments: %+v %+v", ct, cu[0])
	}
}

func TestConflictErrWrapsUniqueViolations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t)
	if err := db.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('k', 'w')`)
	if err == nil {
		t.Fatal("duplicate key accepted")
	}
	if got := conflictErr(err); !errors.Is(got, store.ErrConflict) {
		t.Errorf("conflictErr(%v) does not wrap ErrConflict", err)
	}
	other := errors.New("boom")
	if got := conflictErr(other); got != other {
		t.Errorf("conflictErr changed an unrelated error: %v", got)
	}
}
