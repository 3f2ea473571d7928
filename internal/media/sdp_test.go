package media

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// fill replaces {P<i>} and {C<i>} in want with the relay's RTP and RTCP
// port for m= line i on side to.
func fill(s *Session, to Side, want string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var repl []string
	for i, st := range s.streams {
		if st != nil {
			p := st.legs[to].pair.port
			repl = append(repl, fmt.Sprintf("{P%d}", i), fmt.Sprint(p), fmt.Sprintf("{C%d}", i), fmt.Sprint(p+1))
		}
	}
	return strings.NewReplacer(repl...).Replace(want)
}

// learned lists, per m= line, the RTP and RTCP targets learned for side.
func learned(s *Session, side Side) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, st := range s.streams {
		if st == nil {
			out = append(out, "")
			continue
		}
		l := &st.legs[side]
		out = append(out, addrOf(l.rtp.sdp.Load())+" "+addrOf(l.rtcp.sdp.Load()))
	}
	return out
}

func addrOf[T fmt.Stringer](p *T) string {
	if p == nil {
		return "-"
	}
	return (*p).String()
}

const offerPCMU = `v=0
o=alice 2890844526 2890844526 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
a=ice-ufrag:F7gI
a=ice-pwd:x9cml/YzichV2+XlhiMu8g
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=rtcp:49171
a=candidate:1 1 UDP 2130706431 10.0.0.5 49170 typ host
a=end-of-candidates
a=sendrecv
`

const offerOpus = `v=0
o=- 46117317 2 IN IP4 203.0.113.7
s=call
t=0 0
m=audio 5004 RTP/AVP 9 111 101
c=IN IP4 203.0.113.7
a=rtpmap:9 G722/8000
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:101 telephone-event/8000
a=rtcp:6000 IN IP4 203.0.113.8
a=rtcp-mux
a=ice-options:trickle
`

const offerVideo = `v=0
o=- 1 1 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=audio 40000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 40002 RTP/AVP 96
c=IN IP4 10.0.0.6
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=42e01f;packetization-mode=1
`

func TestRewrite(t *testing.T) {
	cases := []struct {
		name    string
		from    Side
		in      string // CRLF is added unless lf
		lf      bool
		want    string // CRLF is added; {P0}/{C0}: relay ports of the other side
		learned []string
	}{{
		name: "pcmu pcma telephone-event, ice dropped",
		from: SideA,
		in:   offerPCMU,
		want: `v=0
o=- 2890844526 2890844526 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio {P0} RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=rtcp:{C0}
a=sendrecv
`,
		learned: []string{"10.0.0.5:49170 10.0.0.5:49171"},
	}, {
		name: "g722 opus, media-level c=, a=rtcp with address",
		from: SideB,
		in:   offerOpus,
		want: `v=0
o=- 46117317 2 IN IP4 192.0.2.10
s=call
t=0 0
m=audio {P0} RTP/AVP 9 111 101
c=IN IP4 192.0.2.10
a=rtpmap:9 G722/8000
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:101 telephone-event/8000
a=rtcp:{C0} IN IP4 192.0.2.10
a=rtcp-mux
`,
		learned: []string{"203.0.113.7:5004 203.0.113.8:6000"},
	}, {
		name: "audio and video, media-level c= overrides session c=",
		from: SideA,
		in:   offerVideo,
		want: `v=0
o=- 1 1 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio {P0} RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video {P1} RTP/AVP 96
c=IN IP4 192.0.2.10
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=42e01f;packetization-mode=1
`,
		learned: []string{"10.0.0.5:40000 10.0.0.5:40001", "10.0.0.6:40002 10.0.0.6:40003"},
	}, {
		name: "port 0 stays 0",
		from: SideB,
		in: `v=0
o=- 1 2 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=audio 40000 RTP/AVP 8
a=rtpmap:8 PCMA/8000
m=video 0 RTP/AVP 96
a=rtcp:9
`,
		want: `v=0
o=- 1 2 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio {P0} RTP/AVP 8
a=rtpmap:8 PCMA/8000
m=video 0 RTP/AVP 96
`,
		learned: []string{"10.0.0.5:40000 10.0.0.5:40001", ""},
	}, {
		name: "hold with a=sendonly",
		from: SideA,
		in: `v=0
o=- 1 3 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=audio 40000 RTP/AVP 0
a=sendonly
`,
		want: `v=0
o=- 1 3 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio {P0} RTP/AVP 0
a=sendonly
`,
		learned: []string{"10.0.0.5:40000 10.0.0.5:40001"},
	}, {
		name: "rfc 2543 hold keeps c=0.0.0.0 and learns nothing",
		from: SideB,
		in: `v=0
o=- 1 4 IN IP4 10.0.0.5
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 40000 RTP/AVP 0
a=inactive
`,
		want: `v=0
o=- 1 4 IN IP4 192.0.2.10
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio {P0} RTP/AVP 0
a=inactive
`,
		learned: []string{"- -"},
	}, {
		name: "bare LF and IPv6 in, CRLF and advertise address out",
		from: SideA,
		lf:   true,
		in: `v=0
o=- 7 7 IN IP6 2001:db8::5
s=-
c=IN IP6 2001:db8::5
t=0 0
m=audio 30000 RTP/SAVP 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32
`,
		want: `v=0
o=- 7 7 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio {P0} RTP/SAVP 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32
`,
		learned: []string{"[2001:db8::5]:30000 [2001:db8::5]:30001"},
	}, {
		name: "t38 relayed, tcp declined",
		from: SideB,
		in: `v=0
o=- 1 5 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=image 6000 udptl t38
a=T38FaxVersion:0
a=T38FaxRateManagement:transferredTCF
m=application 7000 TCP/BFCP *
a=floorctrl:c-only
`,
		want: `v=0
o=- 1 5 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=image {P0} udptl t38
a=T38FaxVersion:0
a=T38FaxRateManagement:transferredTCF
m=application 0 TCP/BFCP *
a=floorctrl:c-only
`,
		learned: []string{"10.0.0.5:6000 10.0.0.5:6001", ""},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRelay(t, 8)
			s, err := r.NewSession("call-1")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			in := tc.in
			if !tc.lf {
				in = crlf(in)
			}
			got, err := s.Rewrite(tc.from, []byte(in))
			if err != nil {
				t.Fatalf("Rewrite: %v", err)
			}
			if want := fill(s, tc.from.other(), crlf(tc.want)); string(got) != want {
				t.Errorf("Rewrite:\n%s\nwant:\n%s", got, want)
			}
			if got := learned(s, tc.from); strings.Join(got, ",") != strings.Join(tc.learned, ",") {
				t.Errorf("learned %q, want %q", got, tc.learned)
			}
			if got := learned(s, tc.from.other()); len(got) > 0 && got[0] != "- -" {
				t.Errorf("side %v learned %q from the other side's SDP", tc.from.other(), got)
			}
		})
	}
}

func TestRewriteBadSDP(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nt=0 0\r\n"
	cases := map[string]string{
		"empty":               "",
		"no v=":               "o=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\n",
		"v=1":                 "v=1\r\no=- 1 1 IN IP4 10.0.0.5\r\n",
		"not sdp":             "v=0\r\nhello world\r\n",
		"uppercase type":      "v=0\r\nO=- 1 1 IN IP4 10.0.0.5\r\n",
		"no o=":               "v=0\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 0\r\n",
		"short o=":            "v=0\r\no=- 1 IN IP4 10.0.0.5\r\n",
		"two o=":              head + "o=- 1 1 IN IP4 10.0.0.5\r\n",
		"two v=":              head + "v=0\r\n",
		"bad port":            head + "c=IN IP4 10.0.0.5\r\nm=audio abc RTP/AVP 0\r\n",
		"port too big":        head + "c=IN IP4 10.0.0.5\r\nm=audio 70000 RTP/AVP 0\r\n",
		"m= without proto":    head + "c=IN IP4 10.0.0.5\r\nm=audio 4000\r\n",
		"no c=":               head + "m=audio 4000 RTP/AVP 0\r\n",
		"c= without address":  head + "c=IN IP4\r\nm=audio 4000 RTP/AVP 0\r\n",
		"c= bad network type": head + "c=XX IP4 10.0.0.5\r\nm=audio 4000 RTP/AVP 0\r\n",
		"too many m=":         head + "c=IN IP4 10.0.0.5\r\n" + strings.Repeat("m=audio 4000 RTP/AVP 0\r\n", maxMedia+1),
		"too large":           head + strings.Repeat("a=x:yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n", 2000),
	}
	r, _ := newTestRelay(t, 4)
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := r.NewSession("bad")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Rewrite(SideA, []byte(in)); !errors.Is(err, ErrBadSDP) {
				t.Fatalf("Rewrite: err = %v, want ErrBadSDP", err)
			}
			if n := r.InUse(); n != 0 {
				t.Errorf("InUse() = %d after a refused SDP", n)
			}
		})
	}
}

// A re-offer keeps the ports of existing streams, takes new ones for a new
// m= line and gives them back when the answer declines it.
func TestRewriteReoffer(t *testing.T) {
	r, _ := newTestRelay(t, 8)
	s, _ := r.NewSession("reoffer")
	defer s.Close()
	audio := "v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\nm=audio 40000 RTP/AVP 0\n"
	mustRewrite(t, s, SideA, audio)
	mustRewrite(t, s, SideB, strings.ReplaceAll(audio, "10.0.0.5", "10.0.0.9"))
	ports := fill(s, SideB, "{P0}")
	if r.InUse() != 2 {
		t.Fatalf("InUse() = %d, want 2", r.InUse())
	}

	reoffer := strings.Replace(audio, "o=- 1 1", "o=- 1 2", 1) + "m=video 40002 RTP/AVP 96\n"
	mustRewrite(t, s, SideA, reoffer)
	if got := fill(s, SideB, "{P0}"); got != ports {
		t.Errorf("audio port moved from %s to %s", ports, got)
	}
	if r.InUse() != 4 {
		t.Fatalf("InUse() = %d after adding video, want 4", r.InUse())
	}
	answer := "v=0\no=- 9 2 IN IP4 10.0.0.9\ns=-\nc=IN IP4 10.0.0.9\nt=0 0\nm=audio 40000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n"
	out := mustRewrite(t, s, SideB, answer)
	if !strings.Contains(out, "m=video 0 RTP/AVP 96\r\n") {
		t.Errorf("declined video not kept at port 0:\n%s", out)
	}
	if r.InUse() != 2 {
		t.Errorf("InUse() = %d after video was declined, want 2", r.InUse())
	}
}

// Running out of ports half way through an SDP leaves the session as it was.
func TestRewriteNoPortsRollsBack(t *testing.T) {
	r, _ := newTestRelay(t, 3)
	s, _ := r.NewSession("rollback")
	defer s.Close()
	_, err := s.Rewrite(SideA, []byte(crlf(offerVideo)))
	if !errors.Is(err, ErrNoPorts) {
		t.Fatalf("err = %v, want ErrNoPorts", err)
	}
	if n := r.InUse(); n != 0 {
		t.Errorf("InUse() = %d after a failed Rewrite, want 0", n)
	}
	// The pairs taken and given back never carried media: no quarantine.
	mustRewrite(t, s, SideA, offerPCMU)
	if n := r.InUse(); n != 2 {
		t.Errorf("InUse() = %d, want 2", n)
	}
}

func TestRewriteInvalidSideAndClosed(t *testing.T) {
	r, _ := newTestRelay(t, 2)
	s, _ := r.NewSession("x")
	if _, err := s.Rewrite(Side(2), []byte(crlf(offerPCMU))); err == nil {
		t.Error("Rewrite from Side(2) succeeded")
	}
	s.Close()
	s.Close()
	if _, err := s.Rewrite(SideA, []byte(crlf(offerPCMU))); !errors.Is(err, ErrClosed) {
		t.Errorf("Rewrite after Close: err = %v, want ErrClosed", err)
	}
	_ = r.Close()
	if _, err := r.NewSession("y"); !errors.Is(err, ErrClosed) {
		t.Errorf("NewSession after Close: err = %v, want ErrClosed", err)
	}
}

func mustRewrite(t testing.TB, s *Session, from Side, sdp string) string {
	t.Helper()
	out, err := s.Rewrite(from, []byte(crlf(sdp)))
	if err != nil {
		t.Fatalf("Rewrite(%v): %v", from, err)
	}
	return string(out)
}

func BenchmarkRewrite(b *testing.B) {
	r, _ := newTestRelay(b, 4)
	s, _ := r.NewSession("bench")
	defer s.Close()
	in := []byte(crlf(offerPCMU))
	if _, err := s.Rewrite(SideA, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := s.Rewrite(SideA, in); err != nil {
			b.Fatal(err)
		}
	}
}
