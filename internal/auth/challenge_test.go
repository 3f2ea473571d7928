package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

func TestChallengesGolden(t *testing.T) {
	n := NewNonces([]byte("secret"), time.Minute, newClock().Now)
	tests := []struct {
		name  string
		realm string
		stale bool
		want  []string
	}{
		{"fresh", "contoso.com", false, []string{
			`Digest realm="contoso.com", nonce="NONCE", algorithm=MD5, qop="auth"`,
			`Digest realm="contoso.com", nonce="NONCE", algorithm=SHA-256, qop="auth"`,
		}},
		{"stale", "contoso.com", true, []string{
			`Digest realm="contoso.com", nonce="NONCE", algorithm=MD5, qop="auth", stale=true`,
			`Digest realm="contoso.com", nonce="NONCE", algorithm=SHA-256, qop="auth", stale=true`,
		}},
		{"realm escaped", "a\"b\\c\r\nX-Evil: 1", false, []string{
			`Digest realm="a\"b\\cX-Evil: 1", nonce="NONCE", algorithm=MD5, qop="auth"`,
			`Digest realm="a\"b\\cX-Evil: 1", nonce="NONCE", algorithm=SHA-256, qop="auth"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := n.Challenges(tt.realm, tt.stale)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d challenges, want %d: %q", len(got), len(tt.want), got)
			}
			nonce := nonceOf(t, got[0])
			if n.Check(nonce) != NonceValid {
				t.Errorf("challenge nonce %q does not check", nonce)
			}
			for i := range got {
				if nonceOf(t, got[i]) != nonce {
					t.Errorf("challenge %d has a different nonce", i)
				}
				if g := strings.Replace(got[i], nonce, "NONCE", 1); g != tt.want[i] {
					t.Errorf("challenge %d:\n got %s\nwant %s", i, g, tt.want[i])
				}
			}
		})
	}
}

// TestChallengesParseWithClient checks that a real digest client library
// reads our challenges as intended.
func TestChallengesParseWithClient(t *testing.T) {
	n := NewNonces([]byte("secret"), time.Minute, newClock().Now)
	for i, alg := range []string{"MD5", "SHA-256"} {
		c, err := digest.ParseChallenge(n.Challenges("contoso.com", true)[i])
		if err != nil {
			t.Fatalf("ParseChallenge: %v", err)
		}
		if c.Realm != "contoso.com" || c.Algorithm != alg || !c.Stale || !c.SupportsQOP("auth") || n.Check(c.Nonce) != NonceValid {
			t.Errorf("challenge %d parsed as %+v", i, c)
		}
	}
}

func nonceOf(t *testing.T, challenge string) string {
	t.Helper()
	_, rest, ok := strings.Cut(challenge, `nonce="`)
	if !ok {
		t.Fatalf("no nonce in %q", challenge)
	}
	nonce, _, _ := strings.Cut(rest, `"`)
	return nonce
}

func TestWithAlgorithmsOrder(t *testing.T) {
	n := NewNonces([]byte("secret"), time.Minute, newClock().Now).WithAlgorithms("SHA-256", "MD5")
	got := n.Challenges("contoso.com", false)
	if len(got) != 2 || !strings.Contains(got[0], "algorithm=SHA-256") || !strings.Contains(got[1], "algorithm=MD5") {
		t.Fatalf("got %q", got)
	}
}
