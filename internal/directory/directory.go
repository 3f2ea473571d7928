// Package directory is the compiled, read-only view of every tenant and user
// that the call path consults: domain → tenant, and per tenant the users by
// SIP address, extension and number. It is rebuilt from the store after each
// change and swapped atomically, so the hot path never touches the database.
package directory

import (
	"strings"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Directory is an immutable snapshot. Build one with Build.
type Directory struct {
	tenants  map[string]*pbx.Tenant
	byDomain map[string]string               // domain → tenant
	byAOR    map[string]*pbx.User            // alice@contoso.com → user
	byExt    map[string]map[string]*pbx.User // tenant → extension → user
	byNumber map[string]map[string]*pbx.User // tenant → E.164 → user
}

// Build compiles a snapshot from the stored tenants and users.
func Build(tenants []pbx.Tenant, users []pbx.User) *Directory {
	d := &Directory{
		tenants:  make(map[string]*pbx.Tenant, len(tenants)),
		byDomain: make(map[string]string),
		byAOR:    make(map[string]*pbx.User, len(users)),
		byExt:    make(map[string]map[string]*pbx.User),
		byNumber: make(map[string]map[string]*pbx.User),
	}
	for i := range tenants {
		t := tenants[i]
		d.tenants[t.Name] = &t
		for _, dom := range t.Domains {
			d.byDomain[strings.ToLower(dom)] = t.Name
		}
		d.byExt[t.Name] = map[string]*pbx.User{}
		d.byNumber[t.Name] = map[string]*pbx.User{}
	}
	for i := range users {
		u := users[i]
		d.byAOR[strings.ToLower(u.SIPAddress)] = &u
		if d.byExt[u.Tenant] == nil {
			d.byExt[u.Tenant] = map[string]*pbx.User{}
			d.byNumber[u.Tenant] = map[string]*pbx.User{}
		}
		if u.Extension != "" {
			d.byExt[u.Tenant][u.Extension] = &u
		}
		if n := u.Number(); n != "" {
			d.byNumber[u.Tenant][n] = &u
		}
	}
	return d
}

// Empty is a directory with nothing in it.
func Empty() *Directory { return Build(nil, nil) }

// TenantOfDomain returns the tenant owning a SIP domain.
func (d *Directory) TenantOfDomain(domain string) (string, bool) {
	t, ok := d.byDomain[strings.ToLower(domain)]
	return t, ok
}

// Tenant returns a tenant by name.
func (d *Directory) Tenant(name string) (*pbx.Tenant, bool) {
	t, ok := d.tenants[name]
	return t, ok
}

// User returns the user with SIP address aor (user@domain).
func (d *Directory) User(aor string) (*pbx.User, bool) {
	u, ok := d.byAOR[strings.ToLower(aor)]
	return u, ok
}

// Resolve finds the user of tenant that a dialled target names: an extension
// ("1001"), a number ("+14255550101"), a user part ("alice", looked up in each
// of the tenant's domains) or a full SIP address ("alice@contoso.com").
func (d *Directory) Resolve(tenant, target string) (*pbx.User, bool) {
	target = strings.TrimSpace(target)
	if target == "" {
		return nil, false
	}
	if strings.Contains(target, "@") {
		u, ok := d.User(target)
		if ok && u.Tenant == tenant {
			return u, true
		}
		target, _, _ = strings.Cut(target, "@")
	}
	if u, ok := d.byExt[tenant][target]; ok {
		return u, true
	}
	if u, ok := d.byNumber[tenant][target]; ok {
		return u, true
	}
	if t, ok := d.tenants[tenant]; ok {
		for _, dom := range t.Domains {
			if u, ok := d.byAOR[strings.ToLower(target+"@"+dom)]; ok {
				return u, true
			}
		}
	}
	return nil, false
}

// Holder publishes the current snapshot; readers never block writers.
type Holder struct{ p atomic.Pointer[Directory] }

// NewHolder returns a holder with an empty directory.
func NewHolder() *Holder {
	h := &Holder{}
	h.p.Store(Empty())
	return h
}

// Load returns the current snapshot.
func (h *Holder) Load() *Directory { return h.p.Load() }

// Store publishes a new snapshot.
func (h *Holder) Store(d *Directory) { h.p.Store(d) }
