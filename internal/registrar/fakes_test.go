package registrar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

var _ Store = (*fakeStore)(nil)

// fakeStore is an in-memory Store that records every call.
type fakeStore struct {
	mu       sync.Mutex
	rows     map[[2]string]pbx.Binding
	ops      []string
	failSave error // returned by SaveBinding when set
	failDel  error // returned by DeleteBinding when set
	failList error // returned by Bindings when set
}

func newFakeStore(rows ...pbx.Binding) *fakeStore {
	f := &fakeStore{rows: map[[2]string]pbx.Binding{}}
	for _, b := range rows {
		f.rows[[2]string{b.AOR, b.Contact}] = b
	}
	return f
}

func (f *fakeStore) SaveBinding(_ context.Context, b pbx.Binding) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSave != nil {
		return f.failSave
	}
	f.ops = append(f.ops, "save "+b.AOR+" "+b.Contact)
	f.rows[[2]string{b.AOR, b.Contact}] = b
	return nil
}

func (f *fakeStore) DeleteBinding(_ context.Context, aor, contact string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failDel != nil {
		return f.failDel
	}
	f.ops = append(f.ops, "delete "+aor+" "+contact)
	delete(f.rows, [2]string{aor, contact})
	return nil
}

func (f *fakeStore) Bindings(context.Context) ([]pbx.Binding, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failList != nil {
		return nil, f.failList
	}
	out := make([]pbx.Binding, 0, len(f.rows))
	for _, b := range f.rows {
		out = append(out, b)
	}
	return out, nil
}

// takeOps returns and clears the recorded calls, in order.
func (f *fakeStore) takeOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ops := f.ops
	f.ops = nil
	return ops
}

// contacts returns the stored contacts of aor, sorted.
func (f *fakeStore) contacts(aor string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.rows {
		if k[0] == aor {
			out = append(out, k[1])
		}
	}
	slices.Sort(out)
	return out
}

var errStore = errors.New("store down")

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// contactsOf returns the contact URIs of bindings in order.
func contactsOf(bs []pbx.Binding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Contact
	}
	return out
}

// reg builds a REGISTER for alice with the given contacts.
func reg(callID string, cseq uint32, expires int, contacts ...Contact) Request {
	return Request{
		AOR: "alice@contoso.com", Contacts: contacts, Expires: expires,
		CallID: callID, CSeq: cseq, Source: "192.0.2.1:5060", Transport: "udp", UserAgent: "test",
	}
}

// ct is a contact without expires parameter.
func ct(n int) Contact { return Contact{URI: fmt.Sprintf("sip:alice@192.0.2.%d:5060", n), Expires: -1} }

// cte is a contact with an expires parameter.
func cte(n, expires int) Contact {
	c := ct(n)
	c.Expires = expires
	return c
}
