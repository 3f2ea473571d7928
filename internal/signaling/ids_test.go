package signaling

import (
	"strings"
	"testing"
)

// Tags, branches and Call-IDs are lowercase letters and digits after their
// prefix, of the right length, unique, and spread evenly over the
// alphabet: no capital, so no header name (SIPp looks for "CSeq" anywhere
// in a response).
func TestRandomTokens(t *testing.T) {
	const n = 100000
	seen := make(map[string]bool, 3*n)
	counts := map[rune]int{}
	for range n {
		for _, c := range []struct{ tok, prefix string }{
			{newTag(), ""}, {newBranch(), "z9hG4bK"}, {newCallID(), "sb-"},
		} {
			body, ok := strings.CutPrefix(c.tok, c.prefix)
			want := 16
			if c.prefix == "sb-" {
				want = 24
			}
			if !ok || len(body) != want {
				t.Fatalf("token %q: want %q and %d characters", c.tok, c.prefix, want)
			}
			if strings.Trim(body, idAlphabet) != "" {
				t.Fatalf("token %q has characters outside %q", c.tok, idAlphabet)
			}
			if seen[c.tok] {
				t.Fatalf("token %q twice", c.tok)
			}
			seen[c.tok] = true
			for _, r := range body {
				counts[r]++
			}
		}
	}
	total := n * (16 + 16 + 24)
	for _, r := range idAlphabet {
		if got, want := counts[r], total/len(idAlphabet); got < want*9/10 || got > want*11/10 {
			t.Errorf("%q drawn %d times, want ≈ %d", r, got, want)
		}
	}
}

func BenchmarkNewTag(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = newTag()
	}
}
