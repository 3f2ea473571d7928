package provision

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Store is the persistence port provision needs. store.Store satisfies it.
type Store interface {
	// ApplyTenant creates or replaces a tenant with exactly the given users.
	ApplyTenant(ctx context.Context, t pbx.Tenant, users []pbx.User) error
	// Tenants lists every tenant.
	Tenants(ctx context.Context) ([]pbx.Tenant, error)
	// Users lists the users of a tenant with their credentials.
	Users(ctx context.Context, tenant string) ([]pbx.User, error)
}

// Result is the outcome of applying one document.
type Result struct {
	Tenant  string `json:"tenant"`
	Created bool   `json:"created"` // the tenant did not exist before
	Changed bool   `json:"changed"` // something was written
	Users   int    `json:"users"`   // users in the tenant after the apply
}

// Service applies tenant documents to a Store. It is safe for concurrent use;
// applies are serialised so that reading the existing users and writing the
// new ones cannot interleave with another apply on this node.
type Service struct {
	st       Store
	onChange func(ctx context.Context) error
	mu       sync.Mutex
}

// NewService returns a Service writing to st. onChange (may be nil) is called
// after every apply that changed something, so the caller can recompile its
// in-memory directory.
func NewService(st Store, onChange func(ctx context.Context) error) *Service {
	return &Service{st: st, onChange: onChange}
}

// Apply validates d, hashes its passwords and replaces the tenant with it.
// Invalid documents return ValidationErrors and change nothing. A user given
// without a password keeps the credentials it already has; a new user must
// have one. Applying a document identical to what is stored writes nothing
// and reports Changed=false. Store errors are wrapped with %w.
func (s *Service) Apply(ctx context.Context, d Document) (Result, error) {
	d = Canonical(d)
	res := Result{Tenant: d.Tenant, Users: len(d.Users)}

	s.mu.Lock()
	defer s.mu.Unlock()

	tenants, err := s.st.Tenants(ctx)
	if err != nil {
		return res, fmt.Errorf("provision: list tenants: %w", err)
	}
	var old *pbx.Tenant
	for i := range tenants {
		if tenants[i].Name == d.Tenant {
			old = &tenants[i]
			break
		}
	}
	existing := map[string]pbx.User{}
	if old != nil {
		users, err := s.st.Users(ctx, d.Tenant)
		if err != nil {
			return res, fmt.Errorf("provision: list users of %q: %w", d.Tenant, err)
		}
		for _, u := range users {
			existing[u.SIPAddress] = u
		}
	}
	if errs := validate(d, func(addr string) bool { _, ok := existing[addr]; return ok }); errs != nil {
		return res, errs
	}

	t, users := build(d, existing)
	res.Created = old == nil
	res.Changed = res.Created || !sameTenant(*old, t) || !sameUsers(existing, users)
	if !res.Changed {
		return res, nil
	}
	if err := s.st.ApplyTenant(ctx, t, users); err != nil {
		return Result{Tenant: d.Tenant}, fmt.Errorf("provision: apply tenant %q: %w", d.Tenant, err)
	}
	if s.onChange != nil {
		if err := s.onChange(ctx); err != nil {
			return res, fmt.Errorf("provision: tenant %q stored but reload failed: %w", d.Tenant, err)
		}
	}
	return res, nil
}

// build turns a canonical, valid document into the tenant and users to store.
// Users with a password get fresh HA1 credentials (see Credentials); users
// without one keep the credentials of the same sip address in existing.
func build(d Document, existing map[string]pbx.User) (pbx.Tenant, []pbx.User) {
	t := pbx.Tenant{Name: d.Tenant, Domains: slices.Clone(d.Domains)}
	users := make([]pbx.User, 0, len(d.Users))
	for _, spec := range d.Users {
		u := pbx.User{
			Tenant:      d.Tenant,
			SIPAddress:  spec.SIPAddress,
			DisplayName: spec.DisplayName,
			Extension:   spec.Extension,
			LineURI:     spec.LineURI,
		}
		if spec.Password != "" {
			u.Credentials = Credentials(spec.SIPAddress, spec.Password)
		} else {
			u.Credentials = slices.Clone(existing[spec.SIPAddress].Credentials)
		}
		users = append(users, u)
	}
	return t, users
}

// Credentials returns the HA1 credentials stored for a user: the realm is the
// domain of the sip address, and there is one credential for each username
// form (the user part "alice" and the full address "alice@contoso.com") and
// each algorithm (MD5, SHA-256).
func Credentials(sipAddress, password string) []pbx.Credential {
	user := pbx.User{SIPAddress: sipAddress}
	realm := user.Domain()
	creds := make([]pbx.Credential, 0, 4)
	for _, name := range []string{user.Username(), sipAddress} {
		for _, alg := range []string{pbx.AlgMD5, pbx.AlgSHA256} {
			creds = append(creds, pbx.Credential{
				Realm:     realm,
				Username:  name,
				Algorithm: alg,
				HA1:       auth.HA1(alg, name, realm, password),
			})
		}
	}
	return creds
}

func sameTenant(a, b pbx.Tenant) bool {
	return a.Name == b.Name && sameSet(a.Domains, b.Domains)
}

func sameUsers(old map[string]pbx.User, users []pbx.User) bool {
	if len(old) != len(users) {
		return false
	}
	for _, u := range users {
		o, ok := old[u.SIPAddress]
		if !ok || o.DisplayName != u.DisplayName || o.Extension != u.Extension ||
			o.LineURI != u.LineURI || !sameCredentials(o.Credentials, u.Credentials) {
			return false
		}
	}
	return true
}

func sameCredentials(a, b []pbx.Credential) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(c pbx.Credential) string {
		return c.Realm + "\x00" + c.Username + "\x00" + c.Algorithm + "\x00" + c.HA1
	}
	ka := make([]string, len(a))
	kb := make([]string, len(b))
	for i := range a {
		ka[i], kb[i] = key(a[i]), key(b[i])
	}
	return sameSet(ka, kb)
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
