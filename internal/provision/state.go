package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ErrNotFound is returned (wrapped) for a tenant or object that does not exist.
var ErrNotFound = errors.New("not found")

// kindSettings is the object kind (and name) tenant settings are stored under.
const kindSettings = "settings"

// Store is the persistence port provision needs. store.Store satisfies it.
type Store interface {
	// Tenants lists every tenant.
	Tenants(ctx context.Context) ([]pbx.Tenant, error)
	// Users lists the users of a tenant ("" = all) with their credentials.
	Users(ctx context.Context, tenant string) ([]pbx.User, error)
	// Objects lists the other objects of a tenant ("" = all).
	Objects(ctx context.Context, tenant string) ([]pbx.Object, error)
	// SaveTenant writes a tenant's whole state and the audit entries of the
	// change, atomically.
	SaveTenant(ctx context.Context, t pbx.Tenant, users []pbx.User, objects []pbx.Object, audit []pbx.AuditEntry) error
	// DeleteTenant deletes a tenant and everything it owns, atomically with audit.
	DeleteTenant(ctx context.Context, name string, audit []pbx.AuditEntry) error
}

// state is a tenant as stored: its complete document (every list present,
// no passwords) and its users with their credentials.
type state struct {
	exists bool
	doc    Document
	users  map[string]pbx.User
}

// Snapshot returns the complete document of every tenant (every list
// present, users without passwords), sorted by tenant name, objects sorted
// by name. It is what the running node compiles its directory and routing
// tables from.
func Snapshot(ctx context.Context, st Store) ([]Document, error) {
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("provision: list tenants: %w", err)
	}
	users, err := st.Users(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("provision: list users: %w", err)
	}
	objects, err := st.Objects(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("provision: list objects: %w", err)
	}
	byTenantUsers := map[string][]pbx.User{}
	for _, u := range users {
		byTenantUsers[u.Tenant] = append(byTenantUsers[u.Tenant], u)
	}
	byTenantObjects := map[string][]pbx.Object{}
	for _, o := range objects {
		byTenantObjects[o.Tenant] = append(byTenantObjects[o.Tenant], o)
	}
	out := make([]Document, 0, len(tenants))
	for _, t := range tenants {
		d, err := buildDocument(t, byTenantUsers[t.Name], byTenantObjects[t.Name])
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Document) int { return compareStrings(a.Tenant, b.Tenant) })
	return out, nil
}

// load reads the stored state of one tenant.
func load(ctx context.Context, st Store, name string) (state, error) {
	s := state{doc: emptyDocument(name), users: map[string]pbx.User{}}
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return s, fmt.Errorf("provision: list tenants: %w", err)
	}
	i := slices.IndexFunc(tenants, func(t pbx.Tenant) bool { return t.Name == name })
	if i < 0 {
		return s, nil
	}
	users, err := st.Users(ctx, name)
	if err != nil {
		return s, fmt.Errorf("provision: list users of %q: %w", name, err)
	}
	objects, err := st.Objects(ctx, name)
	if err != nil {
		return s, fmt.Errorf("provision: list objects of %q: %w", name, err)
	}
	s.exists = true
	if s.doc, err = buildDocument(tenants[i], users, objects); err != nil {
		return s, err
	}
	for _, u := range users {
		s.users[u.SIPAddress] = u
	}
	return s, nil
}

// emptyDocument is a tenant with every list present and empty.
func emptyDocument(name string) Document {
	d := Document{Tenant: name}
	for _, k := range Kinds() {
		k.set(&d, []any{})
	}
	return d
}

// buildDocument turns stored rows into a complete canonical document.
func buildDocument(t pbx.Tenant, users []pbx.User, objects []pbx.Object) (Document, error) {
	d := emptyDocument(t.Name)
	d.Domains = slices.Clone(t.Domains)
	slices.Sort(d.Domains)
	byName := map[string]Kind{}
	for _, k := range Kinds() {
		byName[k.Name] = k
	}
	items := map[string][]any{}
	for _, o := range objects {
		if o.Kind == kindSettings {
			var s Settings
			if err := json.Unmarshal(o.Spec, &s); err != nil {
				return d, fmt.Errorf("provision: stored settings of %q: %w", t.Name, err)
			}
			d.Settings = &s
			continue
		}
		k, ok := byName[o.Kind]
		if !ok {
			return d, fmt.Errorf("provision: tenant %q has stored objects of unknown kind %q", t.Name, o.Kind)
		}
		it, err := k.decode(o.Spec)
		if err != nil {
			return d, fmt.Errorf("provision: stored %s %q of %q: %w", k.Singular, o.Name, t.Name, err)
		}
		items[k.Name] = append(items[k.Name], it)
	}
	for name, list := range items {
		k := byName[name]
		slices.SortFunc(list, func(a, b any) int { return compareStrings(k.nameOf(a), k.nameOf(b)) })
		k.set(&d, list)
	}
	specs := make([]UserSpec, len(users))
	for i, u := range users {
		specs[i] = userSpec(u)
	}
	slices.SortFunc(specs, func(a, b UserSpec) int { return compareStrings(a.SIPAddress, b.SIPAddress) })
	d.Users = specs
	return Canonical(d), nil
}

// userSpec is the document form of a stored user (no password).
func userSpec(u pbx.User) UserSpec {
	cs := u.CallingSettings
	cs.SimultaneousRing = slices.Clone(cs.SimultaneousRing)
	return UserSpec{
		SIPAddress: u.SIPAddress, DisplayName: u.DisplayName, Extension: u.Extension, LineURI: u.LineURI,
		NumberType: u.NumberType, EnterpriseVoiceEnabled: u.EnterpriseVoiceEnabled,
		VoiceRoutingPolicy: u.VoiceRoutingPolicy, DialPlan: u.DialPlan, CallingPlan: u.CallingPlan,
		UsageLocation: u.UsageLocation, Home: u.Home, EmergencyRoutingPolicy: u.EmergencyRoutingPolicy,
		CallerIDPolicy: u.CallerIDPolicy, CallingSettings: &cs,
	}
}

// storedUser is the stored form of a canonical user spec; creds are its
// credentials (fresh ones when it has a password).
func storedUser(tenant string, s UserSpec, creds []pbx.Credential) pbx.User {
	u := pbx.User{
		Tenant: tenant, SIPAddress: s.SIPAddress, DisplayName: s.DisplayName, Extension: s.Extension,
		LineURI: s.LineURI, Credentials: creds,
		NumberType: s.NumberType, EnterpriseVoiceEnabled: s.EnterpriseVoiceEnabled,
		VoiceRoutingPolicy: s.VoiceRoutingPolicy, DialPlan: s.DialPlan, CallingPlan: s.CallingPlan,
		UsageLocation: s.UsageLocation, Home: s.Home, EmergencyRoutingPolicy: s.EmergencyRoutingPolicy,
		CallerIDPolicy: s.CallerIDPolicy,
	}
	if s.CallingSettings != nil {
		u.CallingSettings = *s.CallingSettings
	}
	return u
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
