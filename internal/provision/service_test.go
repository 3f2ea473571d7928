package provision

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// memStore is an in-memory Store for tests.
type memStore struct {
	mu       sync.Mutex
	tenants  map[string]pbx.Tenant
	users    map[string][]pbx.User   // by tenant
	objects  map[string][]pbx.Object // by tenant
	audit    []pbx.AuditEntry
	applies  int
	applyErr error
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{tenants: map[string]pbx.Tenant{}, users: map[string][]pbx.User{}, objects: map[string][]pbx.Object{}}
}

func (m *memStore) SaveTenant(_ context.Context, t pbx.Tenant, users []pbx.User, objects []pbx.Object, audit []pbx.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.applyErr != nil {
		return m.applyErr
	}
	m.applies++
	m.tenants[t.Name] = t
	m.users[t.Name] = slices.Clone(users)
	m.objects[t.Name] = slices.Clone(objects)
	m.audit = append(m.audit, audit...)
	return nil
}

func (m *memStore) DeleteTenant(_ context.Context, name string, audit []pbx.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tenants, name)
	delete(m.users, name)
	delete(m.objects, name)
	m.audit = append(m.audit, audit...)
	return nil
}

func (m *memStore) Objects(_ context.Context, tenant string) ([]pbx.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tenant != "" {
		return slices.Clone(m.objects[tenant]), nil
	}
	var out []pbx.Object
	for _, o := range m.objects {
		out = append(out, o...)
	}
	return out, nil
}

func (m *memStore) Tenants(context.Context) ([]pbx.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []pbx.Tenant
	for _, t := range m.tenants {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b pbx.Tenant) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memStore) Users(_ context.Context, tenant string) ([]pbx.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tenant != "" {
		return slices.Clone(m.users[tenant]), nil
	}
	var out []pbx.User
	for _, u := range m.users {
		out = append(out, u...)
	}
	return out, nil
}

func (m *memStore) user(tenant, addr string) (pbx.User, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users[tenant] {
		if u.SIPAddress == addr {
			return u, true
		}
	}
	return pbx.User{}, false
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) onChange(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return nil
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func TestApplyCreateThenUnchangedThenChanged(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	var changes counter
	s := NewService(st, changes.onChange)

	res, err := s.Apply(ctx, validDoc())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Tenant: "contoso", Created: true, Changed: true, Users: 2}); !sameResult(res, want) {
		t.Errorf("first apply = %+v, want %+v", res, want)
	}
	if changes.count() != 1 || st.applies != 1 {
		t.Errorf("onChange calls = %d, store applies = %d, want 1, 1", changes.count(), st.applies)
	}

	res, err = s.Apply(ctx, validDoc())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Tenant: "contoso", Users: 2}); !sameResult(res, want) {
		t.Errorf("identical apply = %+v, want %+v", res, want)
	}
	if changes.count() != 1 || st.applies != 1 {
		t.Errorf("identical apply wrote: onChange calls = %d, store applies = %d", changes.count(), st.applies)
	}

	d := validDoc()
	d.Users[1].Extension = "1003"
	res, err = s.Apply(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Tenant: "contoso", Changed: true, Users: 2}); !sameResult(res, want) {
		t.Errorf("changed apply = %+v, want %+v", res, want)
	}
	if changes.count() != 2 {
		t.Errorf("onChange calls = %d, want 2", changes.count())
	}
}

func TestApplyDetectsEachKindOfChange(t *testing.T) {
	edits := map[string]func(d *Document){
		"domain added":                  func(d *Document) { d.Domains = append(d.Domains, "contoso.org") },
		"user removed (pruned)":         func(d *Document) { d.Users = d.Users[:1] },
		"display name":                  func(d *Document) { d.Users[0].DisplayName = "Alice S." },
		"lineUri":                       func(d *Document) { d.Users[0].LineURI = "+14255550109" },
		"password":                      func(d *Document) { d.Users[0].Password = "another-secret" },
		"user renamed":                  func(d *Document) { d.Users[1].SIPAddress = "robert@contoso.net" },
		"extension cleared":             func(d *Document) { d.Users[0].Extension = "" },
		"domains reordered (no change)": nil,
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := NewService(newMemStore(), nil)
			if _, err := s.Apply(ctx, validDoc()); err != nil {
				t.Fatal(err)
			}
			d := validDoc()
			wantChanged := edit != nil
			if edit != nil {
				edit(&d)
			} else {
				slices.Reverse(d.Domains)
			}
			res, err := s.ApplyWith(ctx, d, Options{Prune: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Changed != wantChanged || res.Created {
				t.Errorf("Apply() = %+v, want Changed=%v Created=false", res, wantChanged)
			}
		})
	}
}

func TestApplyHashesPasswords(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := NewService(st, nil)
	if _, err := s.Apply(ctx, validDoc()); err != nil {
		t.Fatal(err)
	}
	u, ok := st.user("contoso", "alice@contoso.com")
	if !ok {
		t.Fatal("alice not stored")
	}
	want := []pbx.Credential{
		{Realm: "contoso.com", Username: "alice", Algorithm: pbx.AlgMD5, HA1: auth.HA1(pbx.AlgMD5, "alice", "contoso.com", "alice-secret")},
		{Realm: "contoso.com", Username: "alice", Algorithm: pbx.AlgSHA256, HA1: auth.HA1(pbx.AlgSHA256, "alice", "contoso.com", "alice-secret")},
		{Realm: "contoso.com", Username: "alice@contoso.com", Algorithm: pbx.AlgMD5, HA1: auth.HA1(pbx.AlgMD5, "alice@contoso.com", "contoso.com", "alice-secret")},
		{Realm: "contoso.com", Username: "alice@contoso.com", Algorithm: pbx.AlgSHA256, HA1: auth.HA1(pbx.AlgSHA256, "alice@contoso.com", "contoso.com", "alice-secret")},
	}
	if !reflect.DeepEqual(u.Credentials, want) {
		t.Errorf("credentials = %+v, want %+v", u.Credentials, want)
	}
	if u.Tenant != "contoso" || u.DisplayName != "Alice Smith" || u.Extension != "1001" || u.LineURI != "+14255550100" {
		t.Errorf("stored user = %+v", u)
	}
	// The realm follows the user's own domain.
	b, _ := st.user("contoso", "bob@contoso.net")
	if len(b.Credentials) != 4 || b.Credentials[0].Realm != "contoso.net" {
		t.Errorf("bob's credentials = %+v, want 4 in realm contoso.net", b.Credentials)
	}
}

func TestApplyKeepsCredentialsWhenPasswordOmitted(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := NewService(st, nil)
	if _, err := s.Apply(ctx, validDoc()); err != nil {
		t.Fatal(err)
	}
	before, _ := st.user("contoso", "alice@contoso.com")

	d := validDoc()
	d.Users[0].Password = ""
	res, err := s.Apply(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed {
		t.Errorf("omitting a password reported a change: %+v", res)
	}

	d.Users[0].DisplayName = "Alice"
	if res, err = s.Apply(ctx, d); err != nil || !res.Changed {
		t.Fatalf("Apply() = %+v, %v; want a change", res, err)
	}
	after, _ := st.user("contoso", "alice@contoso.com")
	if !reflect.DeepEqual(after.Credentials, before.Credentials) || after.DisplayName != "Alice" {
		t.Errorf("after = %+v, want display name Alice and credentials kept %+v", after, before.Credentials)
	}
}

func TestApplyRequiresPasswordForNewUser(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	var changes counter
	s := NewService(st, changes.onChange)

	d := validDoc()
	d.Users[1].Password = ""
	d.Users[1].Extension = "1001"
	_, err := s.Apply(ctx, d)
	want := ValidationErrors{
		{"users[1].password", "required for a new user"},
		{"users[1].extension", `duplicate extension "1001" (also users[0])`},
	}
	var got ValidationErrors
	if !errors.As(err, &got) || !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply() error = %v, want %v", err, want)
	}
	if st.applies != 0 || changes.count() != 0 {
		t.Error("an invalid document changed something")
	}

	// Existing tenant, new user without password.
	if _, err := s.Apply(ctx, validDoc()); err != nil {
		t.Fatal(err)
	}
	d = validDoc()
	d.Users = append(d.Users, UserSpec{SIPAddress: "carol@contoso.com"})
	_, err = s.Apply(ctx, d)
	if !errors.As(err, &got) || !reflect.DeepEqual(got, ValidationErrors{{"users[2].password", "required for a new user"}}) {
		t.Fatalf("Apply() error = %v", err)
	}
}

func TestApplyStoreAndReloadErrors(t *testing.T) {
	ctx := context.Background()
	errConflict := errors.New("conflict")
	st := newMemStore()
	st.applyErr = errConflict
	s := NewService(st, func(context.Context) error { t.Error("onChange called after a failed store write"); return nil })
	if _, err := s.Apply(ctx, validDoc()); !errors.Is(err, errConflict) {
		t.Errorf("Apply() error = %v, want it to wrap the store error", err)
	}

	errReload := errors.New("reload failed")
	s = NewService(newMemStore(), func(context.Context) error { return errReload })
	if _, err := s.Apply(ctx, validDoc()); !errors.Is(err, errReload) {
		t.Errorf("Apply() error = %v, want it to wrap the reload error", err)
	}
}

func TestApplyConcurrent(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	var changes counter
	s := NewService(st, changes.onChange)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.Apply(ctx, validDoc()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if changes.count() != 1 {
		t.Errorf("onChange calls = %d, want exactly 1 for 8 identical applies", changes.count())
	}
}

// sameResult compares results without their changes.
func sameResult(a, b Result) bool {
	a.Changes, b.Changes = nil, nil
	return reflect.DeepEqual(a, b)
}
