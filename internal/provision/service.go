package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Actor is who makes a change, as recorded in the audit log.
type Actor struct {
	ID   string // token id ("operator" for the bootstrap token)
	Name string // token name
}

// Options of an apply.
//
// Without Prune an apply creates and updates the objects the document
// lists and deletes nothing. With Prune, every kind the document lists
// (its key is present, even as an empty list) becomes exactly that list:
// objects of those kinds that it does not name are deleted. Kinds absent
// from the document are left alone either way, and so are tenant settings
// unless the document has them.
type Options struct {
	DryRun bool // compute and return the changes, write nothing
	Prune  bool
	Actor  Actor
}

// Result is the outcome of applying one document.
type Result struct {
	Tenant  string   `json:"tenant"`
	Created bool     `json:"created"` // the tenant did not exist before
	Changed bool     `json:"changed"` // something was (or, in a dry run, would be) written
	DryRun  bool     `json:"dryRun,omitempty"`
	Users   int      `json:"users"`   // users in the tenant after the apply
	Changes []Change `json:"changes"` // in document order of kinds, then by name
}

// Service applies tenant documents to a Store. It is safe for concurrent use;
// applies are serialised so that reading the stored tenant and writing the
// new one cannot interleave with another apply on this node.
type Service struct {
	st       Store
	onChange func(ctx context.Context) error
	now      func() time.Time
	mu       sync.Mutex
}

// NewService returns a Service writing to st. onChange (may be nil) is called
// after every change that was written, so the caller can recompile its
// in-memory directory and routing tables (see Snapshot).
func NewService(st Store, onChange func(ctx context.Context) error) *Service {
	return &Service{st: st, onChange: onChange, now: time.Now}
}

// Apply is ApplyWith without options: create and update, delete nothing.
func (s *Service) Apply(ctx context.Context, d Document) (Result, error) {
	return s.ApplyWith(ctx, d, Options{})
}

// ApplyWith validates d against the tenant as it would be after the apply,
// computes the changes and writes them with their audit entries in one
// transaction. Invalid documents return ValidationErrors and change
// nothing; their fields are paths into d, or kind["name"] for a stored
// object d does not list. A user given without a password keeps the
// credentials it has; a new user must have one. Applying what is stored
// writes nothing and reports Changed=false. Store errors are wrapped with %w.
func (s *Service) ApplyWith(ctx context.Context, d Document, o Options) (Result, error) {
	d = Canonical(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := load(ctx, s.st, d.Tenant)
	if err != nil {
		return Result{Tenant: d.Tenant}, err
	}
	return s.apply(ctx, cur, d, o)
}

// Tenant returns the stored document of a tenant: every list present,
// users without passwords. ErrNotFound (wrapped) when there is no such tenant.
func (s *Service) Tenant(ctx context.Context, name string) (Document, error) {
	cur, err := load(ctx, s.st, name)
	if err != nil {
		return Document{}, err
	}
	if !cur.exists {
		return Document{}, fmt.Errorf("tenant %q: %w", name, ErrNotFound)
	}
	return cur.doc, nil
}

// Delete deletes one object of a tenant, after checking that nothing left
// refers to it (ValidationErrors otherwise). ErrNotFound (wrapped) when the
// tenant or the object does not exist.
func (s *Service) Delete(ctx context.Context, tenant string, k Kind, name string, o Options) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := load(ctx, s.st, tenant)
	if err != nil {
		return Result{Tenant: tenant}, err
	}
	if !cur.exists {
		return Result{Tenant: tenant}, fmt.Errorf("tenant %q: %w", tenant, ErrNotFound)
	}
	if _, ok := k.find(cur.doc, name); !ok {
		return Result{Tenant: tenant}, fmt.Errorf("%s %q: %w", k.Singular, name, ErrNotFound)
	}
	items := k.Items(cur.doc)
	keep := slices.DeleteFunc(slices.Clone(items), func(it any) bool { return k.nameOf(it) == name })
	o.Prune = true
	return s.apply(ctx, cur, k.Document(tenant, keep...), o)
}

// DeleteTenant deletes a tenant and everything it owns. ErrNotFound
// (wrapped) when there is no such tenant.
func (s *Service) DeleteTenant(ctx context.Context, name string, o Options) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := load(ctx, s.st, name)
	if err != nil {
		return Result{Tenant: name}, err
	}
	if !cur.exists {
		return Result{Tenant: name}, fmt.Errorf("tenant %q: %w", name, ErrNotFound)
	}
	before, err := json.Marshal(cur.doc)
	if err != nil {
		return Result{Tenant: name}, err
	}
	c := Change{Action: ActionDelete, Kind: "tenant", Name: name, before: before}
	res := Result{Tenant: name, Changed: true, DryRun: o.DryRun, Changes: []Change{c}}
	if o.DryRun {
		return res, nil
	}
	if err := s.st.DeleteTenant(ctx, name, s.audit(name, o.Actor, res.Changes)); err != nil {
		return Result{Tenant: name}, fmt.Errorf("provision: delete tenant %q: %w", name, err)
	}
	return res, s.changed(ctx, name)
}

// apply merges d into cur, validates, diffs and saves. s.mu is held.
func (s *Service) apply(ctx context.Context, cur state, d Document, o Options) (Result, error) {
	res := Result{Tenant: d.Tenant, Created: !cur.exists, DryRun: o.DryRun}
	exists := func(addr string) bool { _, ok := cur.users[addr]; return ok }
	// The document on its own first, so that its problems are reported
	// against its own paths; then the tenant as it would be after the apply.
	if errs := validate(d, false, exists); errs != nil {
		return res, errs
	}
	next := merge(cur.doc, d, o.Prune)
	if errs := validateMerged(next, true, exists, len(d.Users)); errs != nil {
		return res, relabel(errs, d, next)
	}
	users := make([]pbx.User, len(next.Users))
	changedPassword := map[string]bool{}
	for i, spec := range next.Users {
		creds := slices.Clone(cur.users[spec.SIPAddress].Credentials)
		if spec.Password != "" {
			fresh := Credentials(spec.SIPAddress, spec.Password)
			changedPassword[spec.SIPAddress] = !sameCredentials(creds, fresh)
			creds = fresh
		}
		users[i] = storedUser(d.Tenant, spec, creds)
	}
	objects, err := storedObjects(next)
	if err != nil {
		return res, err
	}
	res.Users = len(next.Users)
	if res.Changes, err = diff(cur, next, changedPassword); err != nil {
		return res, err
	}
	res.Changed = len(res.Changes) > 0
	if res.Changes == nil {
		res.Changes = []Change{}
	}
	if !res.Changed || o.DryRun {
		return res, nil
	}
	t := pbx.Tenant{Name: d.Tenant, Domains: slices.Clone(next.Domains)}
	if err := s.st.SaveTenant(ctx, t, users, objects, s.audit(d.Tenant, o.Actor, res.Changes)); err != nil {
		return Result{Tenant: d.Tenant}, fmt.Errorf("provision: apply tenant %q: %w", d.Tenant, err)
	}
	return res, s.changed(ctx, d.Tenant)
}

func (s *Service) changed(ctx context.Context, tenant string) error {
	if s.onChange == nil {
		return nil
	}
	if err := s.onChange(ctx); err != nil {
		return fmt.Errorf("provision: tenant %q stored but reload failed: %w", tenant, err)
	}
	return nil
}

// merge returns the tenant after applying d to cur (see Options.Prune).
func merge(cur, d Document, prune bool) Document {
	next := Document{Tenant: d.Tenant, Settings: cur.Settings}
	if d.Settings != nil {
		next.Settings = d.Settings
	}
	for _, k := range Kinds() {
		k.merge(&next, cur, d, prune)
	}
	return next
}

// relabel rewrites the paths of errors about stored objects the document
// does not list (kind[i] beyond the document's own items) as kind["name"],
// in fields and messages alike.
func relabel(errs ValidationErrors, d, next Document) ValidationErrors {
	out := slices.Clone(errs)
	for _, k := range Kinds() {
		own := len(k.Items(d))
		items := k.Items(next)
		if len(items) <= own {
			continue
		}
		re := regexp.MustCompile(`(^|[^A-Za-z])` + regexp.QuoteMeta(k.Name) + `\[(\d+)\]`)
		fix := func(s string) string {
			return re.ReplaceAllStringFunc(s, func(m string) string {
				sub := re.FindStringSubmatch(m)
				i, _ := strconv.Atoi(sub[2])
				if i < own || i >= len(items) {
					return m
				}
				return sub[1] + k.Name + "[" + strconv.Quote(k.nameOf(items[i])) + "]"
			})
		}
		for i := range out {
			out[i].Field, out[i].Message = fix(out[i].Field), fix(out[i].Message)
		}
	}
	return out
}

// storedObjects returns the objects to store for a complete document.
func storedObjects(d Document) ([]pbx.Object, error) {
	var out []pbx.Object
	if d.Settings != nil {
		spec, err := encodeItem(*d.Settings)
		if err != nil {
			return nil, err
		}
		out = append(out, pbx.Object{Tenant: d.Tenant, Kind: kindSettings, Name: kindSettings, Spec: spec})
	}
	for _, k := range Kinds() {
		if k.Name == "domains" || k.Name == "users" {
			continue
		}
		for _, it := range k.Items(d) {
			spec, err := encodeItem(it)
			if err != nil {
				return nil, err
			}
			out = append(out, pbx.Object{Tenant: d.Tenant, Kind: k.Name, Name: k.nameOf(it), Spec: spec})
		}
	}
	return out, nil
}

// diff lists what changes from cur to next: the tenant itself when new,
// then settings, then each kind in document order, objects by name.
func diff(cur state, next Document, changedPassword map[string]bool) ([]Change, error) {
	var out []Change
	if !cur.exists {
		out = append(out, Change{Action: ActionCreate, Kind: "tenant", Name: next.Tenant})
	}
	var before, after json.RawMessage
	var err error
	if cur.doc.Settings != nil {
		if before, err = encodeItem(*cur.doc.Settings); err != nil {
			return nil, err
		}
	}
	if next.Settings != nil {
		if after, err = encodeItem(*next.Settings); err != nil {
			return nil, err
		}
	}
	if c, ok := diffObject(kindSettings, kindSettings, before, after, false); ok {
		out = append(out, c)
	}
	for _, k := range Kinds() {
		old := map[string]json.RawMessage{}
		for _, it := range k.Items(cur.doc) {
			if old[k.nameOf(it)], err = encodeItem(it); err != nil {
				return nil, err
			}
		}
		neu := map[string]json.RawMessage{}
		for _, it := range k.Items(next) {
			if neu[k.nameOf(it)], err = encodeItem(it); err != nil {
				return nil, err
			}
		}
		names := make([]string, 0, len(old)+len(neu))
		for n := range old {
			names = append(names, n)
		}
		for n := range neu {
			if _, ok := old[n]; !ok {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			pw := k.Name == "users" && changedPassword[n]
			if c, ok := diffObject(k.Name, n, old[n], neu[n], pw); ok {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// audit turns changes into audit entries.
func (s *Service) audit(tenant string, a Actor, changes []Change) []pbx.AuditEntry {
	now := s.now()
	out := make([]pbx.AuditEntry, len(changes))
	for i, c := range changes {
		out[i] = pbx.AuditEntry{Time: now, ActorID: a.ID, ActorName: a.Name, Tenant: tenant,
			Action: c.Action, Kind: c.Kind, Name: c.Name, Before: c.before, After: c.after,
			Changes: slices.Clone(c.Fields)}
	}
	return out
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
				HA1:       pbx.HA1(alg, name, realm, password),
			})
		}
	}
	return creds
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
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
