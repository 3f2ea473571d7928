package media

import (
	"testing"
	"time"
)

// benchSDP is the offer SIPp sends (bench/scenarios/uac.xml); the callee's
// answer has the same shape.
const benchSDP = "v=0\r\n" +
	"o=caller 53655765 2353687637 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"m=audio 6000 RTP/AVP 0 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-15\r\n" +
	"a=sendrecv\r\n"

// BenchmarkSessionSetup is the relay's share of every anchored call: a
// session, the offer and the answer rewritten (two RTP/RTCP port pairs bound,
// four forwarding goroutines started), then closed. The fake clock skips the
// quarantine so that the same pairs serve again.
func BenchmarkSessionSetup(b *testing.B) {
	r, clk := newTestRelay(b, 16)
	offer, answer := []byte(benchSDP), []byte(benchSDP)
	b.ReportAllocs()
	for b.Loop() {
		s, err := r.NewSession("bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Rewrite(SideA, offer); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Rewrite(SideB, answer); err != nil {
			b.Fatal(err)
		}
		s.Close()
		clk.Advance(DefaultQuarantine + time.Second)
	}
}
