package media

import (
	"strings"
	"testing"
)

func TestSDPHeld(t *testing.T) {
	const base = "v=0\no=a 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\n"
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"sendrecv", base + "m=audio 4000 RTP/AVP 0\na=sendrecv\n", false},
		{"no direction", base + "m=audio 4000 RTP/AVP 0\n", false},
		{"sendonly", base + "m=audio 4000 RTP/AVP 0\na=sendonly\n", true},
		{"recvonly", base + "m=audio 4000 RTP/AVP 0\na=recvonly\n", true},
		{"inactive", base + "m=audio 4000 RTP/AVP 0\na=inactive\n", true},
		{"session-level inactive", strings.Replace(base, "t=0 0\n", "t=0 0\na=inactive\n", 1) + "m=audio 4000 RTP/AVP 0\n", true},
		{"media overrides session", strings.Replace(base, "t=0 0\n", "t=0 0\na=inactive\n", 1) + "m=audio 4000 RTP/AVP 0\na=sendrecv\n", false},
		{"c=0.0.0.0", "v=0\no=a 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n", true},
		{"one stream active", base + "m=audio 4000 RTP/AVP 0\na=inactive\nm=video 4002 RTP/AVP 96\n", false},
		{"nothing relayed", base + "m=audio 0 RTP/AVP 0\n", false},
	} {
		d, err := parseSDP([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := d.held(); got != tc.want {
			t.Errorf("%s: held = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSessionHeldFollowsLatestSDP(t *testing.T) {
	r, _ := newTestRelay(t, 4)
	s, err := r.NewSession("hold")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const active = "v=0\no=a 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
	held := strings.Replace(active, "RTP/AVP 0\n", "RTP/AVP 0\na=sendonly\n", 1)
	for _, step := range []struct {
		side Side
		body string
		want bool
	}{{SideA, active, false}, {SideB, active, false}, {SideA, held, true}, {SideB, active, true}, {SideA, active, false}} {
		if _, err := s.Rewrite(step.side, []byte(step.body)); err != nil {
			t.Fatal(err)
		}
		if got := s.Held(); got != step.want {
			t.Fatalf("after %v sent held=%v SDP: Held() = %v", step.side, strings.Contains(step.body, "sendonly"), got)
		}
	}
	if s.RTPPackets() != 0 {
		t.Errorf("RTPPackets = %d before any packet", s.RTPPackets())
	}
}
