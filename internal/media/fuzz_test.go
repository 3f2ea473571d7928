package media

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzRewrite feeds arbitrary bodies to Session.Rewrite, from both sides.
// It must never panic or leak ports, and whatever it returns must itself be
// SDP the relay accepts, pointing only at the relay. Seeds: the table tests'
// SDPs below and testdata/fuzz/FuzzRewrite.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{offerPCMU, offerOpus, offerVideo, audioSDP(4000, "a=sendonly\n")} {
		f.Add([]byte(s))
		f.Add([]byte(crlf(s)))
	}
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nm=image 0 udptl t38\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\nm=application 9 TCP/BFCP *\r\nc=IN IP4 10.0.0.5\r\n"))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte(""))

	r, clk := newTestRelay(f, 2*2*maxMedia)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := r.NewSession("fuzz")
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			s.Close()
			if n := r.InUse(); n != 0 {
				t.Fatalf("InUse() = %d after Close", n)
			}
			clk.Advance(DefaultQuarantine)
		}()
		for _, from := range []Side{SideA, SideB} {
			out, err := s.Rewrite(from, body)
			if err != nil {
				if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrNoPorts) {
					t.Fatalf("Rewrite: unexpected error %v", err)
				}
				return
			}
			d, err := parseSDP(out)
			if err != nil {
				t.Fatalf("Rewrite output does not parse: %v\n%q", err, out)
			}
			for _, line := range d.lines {
				switch {
				case line[0] == 'a' && isICE(line[2:]):
					t.Fatalf("ICE line %q passed through", line)
				case line[0] == 'c' && !isHold(line[2:]) && line[2:] != r.adv:
					t.Fatalf("c= line %q does not point at the relay", line)
				}
			}
			if !bytes.HasSuffix(out, []byte("\r\n")) {
				t.Fatalf("output does not end with CRLF: %q", out)
			}
		}
	})
}
