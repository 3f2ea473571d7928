package auth

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injectable time source for tests.
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

func TestNoncesCheck(t *testing.T) {
	const ttl = 30 * time.Second
	secret := []byte("0123456789abcdef0123456789abcdef")

	// flip changes one character of s in the middle.
	flip := func(s string) string {
		b := []byte(s)
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}

	tests := []struct {
		name  string
		nonce func(n *Nonces, clk *clock) string
		want  NonceState
	}{
		{"fresh", func(n *Nonces, _ *clock) string { return n.Issue() }, NonceValid},
		{"exactly ttl old", func(n *Nonces, clk *clock) string {
			s := n.Issue()
			clk.Advance(ttl)
			return s
		}, NonceValid},
		{"stale after ttl", func(n *Nonces, clk *clock) string {
			s := n.Issue()
			clk.Advance(ttl + time.Nanosecond)
			return s
		}, NonceStale},
		{"issued by a node slightly ahead", func(n *Nonces, clk *clock) string {
			clk.Advance(10 * time.Second)
			s := n.Issue()
			clk.Advance(-10 * time.Second)
			return s
		}, NonceValid},
		{"issued far in the future", func(n *Nonces, clk *clock) string {
			clk.Advance(time.Hour)
			s := n.Issue()
			clk.Advance(-time.Hour)
			return s
		}, NonceStale},
		{"tampered", func(n *Nonces, _ *clock) string { return flip(n.Issue()) }, NonceInvalid},
		{"tampered timestamp", func(n *Nonces, _ *clock) string {
			s := []byte(n.Issue())
			s[3] ^= 1 // inside the timestamp bytes; stays in the alphabet for letters
			return string(s)
		}, NonceInvalid},
		{"wrong secret", func(_ *Nonces, clk *clock) string {
			return NewNonces([]byte("another secret"), ttl, clk.Now).Issue()
		}, NonceInvalid},
		{"truncated", func(n *Nonces, _ *clock) string { s := n.Issue(); return s[:len(s)-1] }, NonceInvalid},
		{"extended", func(n *Nonces, _ *clock) string { return n.Issue() + "A" }, NonceInvalid},
		{"padded", func(n *Nonces, _ *clock) string { return n.Issue() + "=" }, NonceInvalid},
		{"empty", func(*Nonces, *clock) string { return "" }, NonceInvalid},
		{"garbage", func(*Nonces, *clock) string { return "dcd98b7102dd2f0e8b11d0f600bfb0c093" }, NonceInvalid},
		{"right length, not base64", func(n *Nonces, _ *clock) string {
			return strings.Repeat("!", len(n.Issue()))
		}, NonceInvalid},
		{"right length, zero bytes", func(n *Nonces, _ *clock) string {
			return strings.Repeat("A", len(n.Issue()))
		}, NonceInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			n := NewNonces(secret, ttl, clk.Now)
			nonce := tt.nonce(n, clk)
			if got := n.Check(nonce); got != tt.want {
				t.Errorf("Check(%q) = %v, want %v", nonce, got, tt.want)
			}
		})
	}
}

func TestNoncesSharedSecretAcrossNodes(t *testing.T) {
	clk := newClock()
	secret := []byte("cluster secret, 32 bytes or more!")
	a := NewNonces(secret, time.Minute, clk.Now)
	b := NewNonces(secret, time.Minute, clk.Now)
	if got := b.Check(a.Issue()); got != NonceValid {
		t.Fatalf("node b checking node a's nonce = %v, want valid", got)
	}
}

func TestNoncesIssueUniqueAndQuotable(t *testing.T) {
	n := NewNonces([]byte("s"), 0, newClock().Now)
	if n.TTL() != DefaultNonceTTL {
		t.Errorf("TTL() = %v, want default %v", n.TTL(), DefaultNonceTTL)
	}
	seen := map[string]bool{}
	for range 1000 {
		s := n.Issue()
		if seen[s] {
			t.Fatalf("nonce %q issued twice", s)
		}
		seen[s] = true
		if strings.ContainsAny(s, "\"\\=+/ ") {
			t.Fatalf("nonce %q needs escaping", s)
		}
	}
}

func TestNoncesSecretIsCopied(t *testing.T) {
	secret := []byte("secret")
	n := NewNonces(secret, 0, newClock().Now)
	nonce := n.Issue()
	secret[0] = 'X'
	if got := n.Check(nonce); got != NonceValid {
		t.Fatalf("Check after caller mutated its secret = %v, want valid", got)
	}
}

func TestNewNoncesEmptySecretPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewNonces(nil, ...) did not panic")
		}
	}()
	NewNonces(nil, time.Minute, nil)
}

func TestNonceStateString(t *testing.T) {
	for s, want := range map[NonceState]string{NonceValid: "valid", NonceStale: "stale", NonceInvalid: "invalid", 42: "invalid"} {
		if got := s.String(); got != want {
			t.Errorf("NonceState(%d).String() = %q, want %q", s, got, want)
		}
	}
}

func BenchmarkNoncesCheck(b *testing.B) {
	n := NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, time.Now)
	nonce := n.Issue()
	b.ReportAllocs()
	for b.Loop() {
		if n.Check(nonce) != NonceValid {
			b.Fatal("invalid")
		}
	}
}

// Issuing a nonce allocates its string only, checking one nothing; the
// encoded length is base64's.
func TestNoncesAllocations(t *testing.T) {
	if got, want := nonceEncLen, nonceEncoding().EncodedLen(nonceRawLen); got != want {
		t.Fatalf("nonceEncLen %d, base64 says %d", got, want)
	}
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	n := NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, nil)
	nonce := n.Issue()
	if a := testing.AllocsPerRun(100, func() { _ = n.Issue() }); a > 1 {
		t.Errorf("Issue: %v allocations, want 1", a)
	}
	if a := testing.AllocsPerRun(100, func() {
		if n.Check(nonce) != NonceValid {
			t.Fatal("nonce not valid")
		}
	}); a > 0 {
		t.Errorf("Check: %v allocations, want 0", a)
	}
}
