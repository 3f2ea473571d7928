package registrar

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestLoad(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	b := func(aor string, n int, expires time.Duration) pbx.Binding {
		return pbx.Binding{AOR: aor, Contact: ct(n).URI, Expires: now.Add(expires), CallID: fmt.Sprint(n), CSeq: 1}
	}
	st := newFakeStore(
		b("alice@contoso.com", 1, time.Minute),
		b("alice@contoso.com", 2, 2*time.Minute),
		b("alice@contoso.com", 3, -time.Second), // expired
		b("alice@contoso.com", 4, 0),            // expires now: expired
		b("bob@contoso.com", 5, time.Hour),
		b("carol@contoso.com", 6, -time.Hour), // expired
		b("dave@contoso.com", 7, time.Minute),
		b("dave@contoso.com", 8, 2*time.Minute),
		b("dave@contoso.com", 9, 3*time.Minute),
	)
	s := New(st, Config{MaxContacts: 2}, clk.Now, nil)
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := contactsOf(s.Lookup("alice@contoso.com")), []string{ct(2).URI, ct(1).URI}; !slices.Equal(got, want) {
		t.Errorf("alice = %v, want %v", got, want)
	}
	if got, want := contactsOf(s.Lookup("dave@contoso.com")), []string{ct(9).URI, ct(8).URI}; !slices.Equal(got, want) {
		t.Errorf("dave = %v, want %v (beyond MaxContacts dropped)", got, want)
	}
	if n := s.Count(); n != 5 {
		t.Errorf("Count = %d, want 5", n)
	}
	ops := st.takeOps()
	slices.Sort(ops)
	want := []string{
		"delete alice@contoso.com " + ct(3).URI,
		"delete alice@contoso.com " + ct(4).URI,
		"delete carol@contoso.com " + ct(6).URI,
		"delete dave@contoso.com " + ct(7).URI,
	}
	if !slices.Equal(ops, want) {
		t.Errorf("ops = %q, want %q", ops, want)
	}
	// Loaded bindings take part in ordering checks.
	if _, err := s.Register(context.Background(), reg("1", 1, -1, ct(1))); err == nil {
		t.Error("replayed CSeq of a loaded binding accepted")
	}
}

func TestLoadError(t *testing.T) {
	st := newFakeStore()
	st.failList = errStore
	if err := New(st, Config{}, nil, nil).Load(context.Background()); err == nil {
		t.Fatal("Load ignored the store error")
	}
}

func TestSweep(t *testing.T) {
	s, st, clk := newService(t, Config{})
	ctx := context.Background()
	if _, err := s.Register(ctx, reg("c", 1, -1, cte(1, 60), cte(2, 120))); err != nil {
		t.Fatal(err)
	}
	bob := Request{AOR: "bob@contoso.com", Contacts: []Contact{cte(3, 60)}, Expires: -1, CallID: "b", CSeq: 1}
	if _, err := s.Register(ctx, bob); err != nil {
		t.Fatal(err)
	}
	st.takeOps()

	clk.Advance(60 * time.Second)
	// Expired bindings are invisible before any sweep.
	if got := contactsOf(s.Lookup("alice@contoso.com")); !slices.Equal(got, []string{ct(2).URI}) {
		t.Errorf("Lookup = %v before sweep", got)
	}
	if n := s.Count(); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}

	st.failDel = errStore
	s.Sweep(ctx) // fails: kept for the next sweep
	st.failDel = nil
	s.Sweep(ctx)
	ops := st.takeOps()
	slices.Sort(ops)
	want := []string{"delete alice@contoso.com " + ct(1).URI, "delete bob@contoso.com " + ct(3).URI}
	if !slices.Equal(ops, want) {
		t.Errorf("ops = %q, want %q", ops, want)
	}
	s.mu.RLock()
	_, bobLeft := s.aors["bob@contoso.com"]
	left := len(s.aors["alice@contoso.com"])
	s.mu.RUnlock()
	if bobLeft || left != 1 {
		t.Errorf("memory not swept: bob present %v, alice %d", bobLeft, left)
	}
	s.Sweep(ctx)
	if ops := st.takeOps(); len(ops) != 0 {
		t.Errorf("second sweep wrote %q", ops)
	}
}

func TestRemoveAOR(t *testing.T) {
	s, st, _ := newService(t, Config{})
	ctx := context.Background()
	if _, err := s.Register(ctx, reg("c", 1, -1, ct(1), ct(2))); err != nil {
		t.Fatal(err)
	}
	st.takeOps()
	s.RemoveAOR(ctx, "ALICE@contoso.com")
	if got := s.Lookup("alice@contoso.com"); len(got) != 0 {
		t.Errorf("Lookup after RemoveAOR = %v", got)
	}
	if got := st.contacts("alice@contoso.com"); len(got) != 0 {
		t.Errorf("store after RemoveAOR = %v", got)
	}
	if ops := st.takeOps(); len(ops) != 2 {
		t.Errorf("ops = %q, want two deletes", ops)
	}
}

// TestConcurrent runs registrations, lookups, sweeps and removals at once;
// run with -race.
func TestConcurrent(t *testing.T) {
	s, st, clk := newService(t, Config{MaxContacts: 4})
	ctx := context.Background()
	const users, devices, rounds = 8, 6, 20
	var wg sync.WaitGroup
	for u := range users {
		for d := range devices {
			wg.Go(func() {
				aor := fmt.Sprintf("user%d@contoso.com", u)
				for i := range rounds {
					r := Request{AOR: aor, Contacts: []Contact{cte(d, 60+i)}, Expires: -1,
						CallID: fmt.Sprintf("%d-%d", u, d), CSeq: uint32(i + 1)}
					if _, err := s.Register(ctx, r); err != nil {
						t.Errorf("register %s: %v", aor, err)
						return
					}
					// user0 is removed concurrently below, so only the others
					// must always see their own binding.
					if u != 0 && len(s.Lookup(aor)) == 0 {
						t.Errorf("no binding for %s right after registering", aor)
						return
					}
				}
			})
		}
	}
	wg.Go(func() {
		for range rounds {
			s.Sweep(ctx)
			_ = s.Count()
			clk.Advance(time.Millisecond)
		}
	})
	wg.Go(func() {
		for range rounds {
			s.RemoveAOR(ctx, "user0@contoso.com")
		}
	})
	wg.Wait()

	for u := 1; u < users; u++ {
		aor := fmt.Sprintf("user%d@contoso.com", u)
		mem := contactsOf(s.Lookup(aor))
		if len(mem) != 4 {
			t.Errorf("%s has %d bindings, want MaxContacts 4", aor, len(mem))
		}
		slices.Sort(mem)
		if stored := st.contacts(aor); !slices.Equal(mem, stored) {
			t.Errorf("%s: memory %v and store %v differ", aor, mem, stored)
		}
	}
}
