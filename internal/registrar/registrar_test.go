package registrar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func newService(t *testing.T, cfg Config) (*Service, *fakeStore, *clock) {
	t.Helper()
	st := newFakeStore()
	clk := newClock()
	return New(st, cfg, clk.Now, nil), st, clk
}

func TestRegisterExpiryRules(t *testing.T) {
	star := Contact{Star: true, Expires: -1}
	tests := []struct {
		name     string
		req      Request
		want     []time.Duration // remaining lifetime of each returned binding
		wantErr  error
		wantMin  time.Duration // IntervalTooBriefError.Min expected when nonzero
		preBound bool          // alice has ct(1) registered before the request
	}{
		{name: "contact param wins over header", req: reg("c", 1, 600, cte(1, 120)), want: []time.Duration{120 * time.Second}},
		{name: "header when no param", req: reg("c", 1, 600, ct(1)), want: []time.Duration{600 * time.Second}},
		{name: "default when neither", req: reg("c", 1, -1, ct(1)), want: []time.Duration{3600 * time.Second}},
		{name: "exactly min", req: reg("c", 1, 60, ct(1)), want: []time.Duration{60 * time.Second}},
		{name: "below min by param", req: reg("c", 1, 600, cte(1, 59)), wantMin: 60 * time.Second},
		{name: "below min by header", req: reg("c", 1, 30, ct(1)), wantMin: 60 * time.Second},
		{name: "one brief contact fails all", req: reg("c", 1, -1, ct(1), cte(2, 1)), wantMin: 60 * time.Second},
		{name: "above max clamped", req: reg("c", 1, 7200, ct(1)), want: []time.Duration{3600 * time.Second}},
		{name: "huge clamped", req: reg("c", 1, 1<<62, ct(1)), want: []time.Duration{3600 * time.Second}},
		{name: "header 0 removes", req: reg("c", 2, 0, ct(1)), preBound: true, want: []time.Duration{}},
		{name: "param 0 removes despite header", req: reg("c", 2, 3600, cte(1, 0)), preBound: true, want: []time.Duration{}},
		{name: "param 0 of unknown contact is a no-op", req: reg("c", 1, -1, cte(9, 0)), want: []time.Duration{}},
		{name: "param overrides header 0", req: reg("c", 2, 0, cte(1, 300)), preBound: true, want: []time.Duration{300 * time.Second}},
		{name: "star with Expires 0 removes all", req: reg("c2", 1, 0, star), preBound: true, want: []time.Duration{}},
		{name: "star without Expires", req: reg("c2", 1, -1, star), preBound: true, wantErr: ErrBadRequest},
		{name: "star with Expires 3600", req: reg("c2", 1, 3600, star), preBound: true, wantErr: ErrBadRequest},
		{name: "star with other contacts", req: reg("c2", 1, 0, star, ct(2)), preBound: true, wantErr: ErrBadRequest},
		{name: "empty AOR", req: Request{Contacts: []Contact{ct(1)}, Expires: -1, CallID: "c"}, wantErr: ErrBadRequest},
		{name: "empty contact URI", req: reg("c", 1, -1, Contact{Expires: -1}), wantErr: ErrBadRequest},
		{name: "empty Call-ID", req: reg("", 1, -1, ct(1)), wantErr: ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, st, clk := newService(t, Config{})
			ctx := context.Background()
			if tt.preBound {
				if _, err := s.Register(ctx, reg("c", 1, -1, ct(1))); err != nil {
					t.Fatal(err)
				}
			}
			st.takeOps()
			got, err := s.Register(ctx, tt.req)
			switch {
			case tt.wantMin != 0:
				var brief *IntervalTooBriefError
				if !errors.As(err, &brief) || brief.Min != tt.wantMin {
					t.Fatalf("err = %v, want IntervalTooBriefError{Min: %v}", err, tt.wantMin)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if ops := st.takeOps(); len(ops) != 0 {
					t.Errorf("failed request wrote to the store: %q", ops)
				}
				return
			}
			var rem []time.Duration
			for _, b := range got {
				rem = append(rem, b.Expires.Sub(clk.Now()))
			}
			if !slices.Equal(rem, tt.want) {
				t.Errorf("remaining = %v, want %v", rem, tt.want)
			}
			if !slices.Equal(contactsOf(s.Lookup("alice@contoso.com")), contactsOf(got)) {
				t.Errorf("Lookup differs from Register's answer")
			}
		})
	}
}

func TestRegisterCustomConfig(t *testing.T) {
	s, _, clk := newService(t, Config{MinExpires: 10 * time.Second, MaxExpires: 120 * time.Second, DefaultExpires: 90 * time.Second})
	got, err := s.Register(context.Background(), reg("c", 1, -1, ct(1), cte(2, 10), cte(3, 500)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{ct(1).URI: 90 * time.Second, ct(2).URI: 10 * time.Second, ct(3).URI: 120 * time.Second}
	for _, b := range got {
		if d := b.Expires.Sub(clk.Now()); d != want[b.Contact] {
			t.Errorf("%s expires in %v, want %v", b.Contact, d, want[b.Contact])
		}
	}
	if cfg := (New(nil, Config{MinExpires: time.Hour, MaxExpires: time.Minute}, nil, nil)).Config(); cfg.MaxExpires != time.Hour || cfg.DefaultExpires != time.Hour {
		t.Errorf("inconsistent config not repaired: %+v", cfg)
	}
}

func TestRegisterSeveralDevicesAndQuery(t *testing.T) {
	s, _, clk := newService(t, Config{})
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		r := reg(fmt.Sprintf("call-%d", i), 1, 600, ct(i))
		r.UserAgent = fmt.Sprintf("phone-%d", i)
		if _, err := s.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	// Bob is separate.
	if _, err := s.Register(ctx, Request{AOR: "bob@contoso.com", Contacts: []Contact{ct(7)}, Expires: -1, CallID: "b", CSeq: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Register(ctx, reg("query", 1, -1)) // no contacts: query
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ct(3).URI, ct(2).URI, ct(1).URI} // most recent first
	if !slices.Equal(contactsOf(got), want) {
		t.Errorf("query = %v, want %v", contactsOf(got), want)
	}
	if got[0].UserAgent != "phone-3" || got[0].Source != "192.0.2.1:5060" || got[0].Transport != "udp" || got[0].CallID != "call-3" || got[0].AOR != "alice@contoso.com" {
		t.Errorf("binding fields not kept: %+v", got[0])
	}
	if n := s.Count(); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
	// Refreshing the oldest makes it the most recent.
	if _, err := s.Register(ctx, reg("call-1", 2, 600, ct(1))); err != nil {
		t.Fatal(err)
	}
	if got, want := contactsOf(s.Lookup("Alice@Contoso.com")), []string{ct(1).URI, ct(3).URI, ct(2).URI}; !slices.Equal(got, want) {
		t.Errorf("after refresh = %v, want %v", got, want)
	}
	// Returned slices are copies.
	s.Lookup("alice@contoso.com")[0].Contact = "sip:mallory@evil"
	if s.Lookup("alice@contoso.com")[0].Contact != ct(1).URI {
		t.Error("Lookup returned shared memory")
	}
	if got := s.Lookup("nobody@contoso.com"); len(got) != 0 {
		t.Errorf("Lookup(unknown) = %v", got)
	}
}

func TestRegisterOrdering(t *testing.T) {
	tests := []struct {
		name    string
		callID  string
		cseq    uint32
		expires int
		contact Contact
		wantErr bool
	}{
		{"same call-id, higher cseq", "call-a", 11, -1, ct(1), false},
		{"same call-id, same cseq", "call-a", 10, -1, ct(1), true},
		{"same call-id, lower cseq", "call-a", 9, -1, ct(1), true},
		{"same call-id, lower cseq, removal", "call-a", 9, 0, ct(1), true},
		{"same call-id, lower cseq, star", "call-a", 9, 0, Contact{Star: true}, true},
		{"new call-id, lower cseq replaces", "call-b", 1, -1, ct(1), false},
		{"new call-id, star removes", "call-b", 1, 0, Contact{Star: true}, false},
		{"same call-id, lower cseq, other contact", "call-a", 9, -1, ct(2), false},
		{"same call-id, lower cseq, same instance", "call-a", 9, -1, Contact{URI: ct(3).URI, Expires: -1, Instance: "<urn:uuid:1>"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, st, _ := newService(t, Config{})
			ctx := context.Background()
			first := ct(1)
			first.Instance = "<urn:uuid:1>"
			if _, err := s.Register(ctx, reg("call-a", 10, -1, first)); err != nil {
				t.Fatal(err)
			}
			st.takeOps()
			_, err := s.Register(ctx, reg(tt.callID, tt.cseq, tt.expires, tt.contact))
			if tt.wantErr {
				if !errors.Is(err, ErrOutOfOrder) {
					t.Fatalf("err = %v, want ErrOutOfOrder", err)
				}
				if got := s.Lookup("alice@contoso.com"); len(got) != 1 || got[0].CSeq != 10 {
					t.Errorf("binding changed by a rejected request: %+v", got)
				}
				if ops := st.takeOps(); len(ops) != 0 {
					t.Errorf("rejected request wrote %q", ops)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestRegisterExpiredBindingDoesNotBlockOrder(t *testing.T) {
	s, st, clk := newService(t, Config{})
	ctx := context.Background()
	if _, err := s.Register(ctx, reg("call-a", 10, 60, ct(1))); err != nil {
		t.Fatal(err)
	}
	clk.Advance(61 * time.Second)
	st.takeOps()
	if _, err := s.Register(ctx, reg("call-a", 5, 60, ct(2))); err != nil {
		t.Fatal(err)
	}
	want := []string{"save alice@contoso.com " + ct(2).URI, "delete alice@contoso.com " + ct(1).URI}
	if ops := st.takeOps(); !slices.Equal(ops, want) {
		t.Errorf("ops = %q, want %q", ops, want)
	}
}

func TestRegisterInstanceReplacement(t *testing.T) {
	s, st, _ := newService(t, Config{})
	ctx := context.Background()
	old := Contact{URI: "sip:alice@10.0.0.5:5060", Expires: -1, Instance: "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"}
	other := ct(9)
	if _, err := s.Register(ctx, reg("call-1", 1, -1, old, other)); err != nil {
		t.Fatal(err)
	}
	st.takeOps()
	// Same device, new network address, new Call-ID after a reboot.
	moved := Contact{URI: "sip:alice@10.0.0.77:5060", Expires: -1, Instance: "<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>"}
	got, err := s.Register(ctx, reg("call-2", 1, -1, moved))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{moved.URI, other.URI}; !slices.Equal(contactsOf(got), want) {
		t.Errorf("bindings = %v, want %v", contactsOf(got), want)
	}
	want := []string{"save alice@contoso.com " + moved.URI, "delete alice@contoso.com " + old.URI}
	if ops := st.takeOps(); !slices.Equal(ops, want) {
		t.Errorf("ops = %q, want %q", ops, want)
	}
	if got := st.contacts("alice@contoso.com"); !slices.Equal(got, []string{moved.URI, other.URI}) {
		t.Errorf("store = %v", got)
	}
}

func TestRegisterMaxContacts(t *testing.T) {
	s, st, clk := newService(t, Config{MaxContacts: 3})
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		if _, err := s.Register(ctx, reg(fmt.Sprint(i), 1, -1, ct(i))); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	want := []string{ct(4).URI, ct(3).URI, ct(2).URI}
	if got := contactsOf(s.Lookup("alice@contoso.com")); !slices.Equal(got, want) {
		t.Errorf("bindings = %v, want %v", got, want)
	}
	if got := st.contacts("alice@contoso.com"); len(got) != 3 || slices.Contains(got, ct(1).URI) {
		t.Errorf("store = %v, want the oldest deleted", got)
	}
	// One request with more contacts than allowed keeps the last ones.
	got, err := s.Register(ctx, reg("x", 1, -1, ct(11), ct(12), ct(13), ct(14)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ct(14).URI, ct(13).URI, ct(12).URI}; !slices.Equal(contactsOf(got), want) {
		t.Errorf("bindings = %v, want %v", contactsOf(got), want)
	}
	if n := len(st.contacts("alice@contoso.com")); n != 3 {
		t.Errorf("store holds %d bindings, want 3", n)
	}
}

func TestRegisterPersistence(t *testing.T) {
	s, st, _ := newService(t, Config{})
	ctx := context.Background()
	steps := []struct {
		req  Request
		want []string
	}{
		{reg("c", 1, -1, ct(1), ct(2)), []string{"save alice@contoso.com " + ct(1).URI, "save alice@contoso.com " + ct(2).URI}},
		{reg("c", 2, -1, ct(1)), nil}, // a plain refresh while the stored expiry is fresh: not written
		{reg("c", 3, -1), nil},        // query
		{reg("c", 4, -1, cte(2, 0)), []string{"delete alice@contoso.com " + ct(2).URI}},
		{reg("c", 5, 0, Contact{Star: true}), []string{"delete alice@contoso.com " + ct(1).URI}},
	}
	for i, step := range steps {
		if _, err := s.Register(ctx, step.req); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if ops := st.takeOps(); !slices.Equal(ops, step.want) {
			t.Errorf("step %d: ops = %q, want %q", i, ops, step.want)
		}
	}
	if n := s.Count(); n != 0 {
		t.Errorf("Count = %d, want 0", n)
	}
}

func TestRegisterStoreFailureLeavesMemory(t *testing.T) {
	s, st, _ := newService(t, Config{})
	ctx := context.Background()
	if _, err := s.Register(ctx, reg("c", 1, -1, ct(1))); err != nil {
		t.Fatal(err)
	}
	st.failSave = errStore
	if _, err := s.Register(ctx, reg("c", 2, -1, ct(2))); !errors.Is(err, errStore) {
		t.Fatalf("err = %v, want the store error", err)
	}
	st.failSave, st.failDel = nil, errStore
	if _, err := s.Register(ctx, reg("c", 3, 0, ct(1))); !errors.Is(err, errStore) {
		t.Fatalf("err = %v, want the store error", err)
	}
	if got := contactsOf(s.Lookup("alice@contoso.com")); !slices.Equal(got, []string{ct(1).URI}) {
		t.Errorf("memory changed by failed requests: %v", got)
	}
	// The retry converges.
	st.failDel = nil
	if _, err := s.Register(ctx, reg("c", 4, -1, ct(2))); err != nil {
		t.Fatal(err)
	}
	if got := st.contacts("alice@contoso.com"); !slices.Equal(got, []string{ct(1).URI, ct(2).URI}) {
		t.Errorf("store = %v", got)
	}
}

func TestRefreshWrittenWhenStoredExpiryIsStale(t *testing.T) {
	s, st, clk := newService(t, Config{})
	ctx := context.Background()
	if _, err := s.Register(ctx, reg("c", 1, 3600, ct(1))); err != nil {
		t.Fatal(err)
	}
	st.takeOps()
	clk.Advance(10 * time.Minute) // stored expiry 50 min away: more than half of 60
	if _, err := s.Register(ctx, reg("c", 2, 3600, ct(1))); err != nil {
		t.Fatal(err)
	}
	if ops := st.takeOps(); len(ops) != 0 {
		t.Fatalf("fresh refresh written: %q", ops)
	}
	// A new Call-ID for the refresh (some phones take one each time) is
	// still a refresh: the stored binding is as good.
	if _, err := s.Register(ctx, reg("c2", 1, 3600, ct(1))); err != nil {
		t.Fatal(err)
	}
	if ops := st.takeOps(); len(ops) != 0 {
		t.Fatalf("refresh with a new Call-ID written: %q", ops)
	}
	clk.Advance(25 * time.Minute) // stored expiry 25 min away: less than half
	if _, err := s.Register(ctx, reg("c", 3, 3600, ct(1))); err != nil {
		t.Fatal(err)
	}
	if ops := st.takeOps(); !slices.Equal(ops, []string{"save alice@contoso.com " + ct(1).URI}) {
		t.Fatalf("stale refresh not written: %q", ops)
	}
	// A refresh from a new source (NAT rebinding) is always written.
	r := reg("c", 4, 3600, ct(1))
	r.Source = "198.51.100.9:5060"
	if _, err := s.Register(ctx, r); err != nil {
		t.Fatal(err)
	}
	if ops := st.takeOps(); len(ops) != 1 {
		t.Fatalf("changed source not written: %q", ops)
	}
}
