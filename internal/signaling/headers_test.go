package signaling

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// parsedInvite is a parsed INVITE with headers sipgo's lookups lowercase
// (Subject, Allow, ...), compact forms (k, x) and extra.
func parsedInvite(t *testing.T, extra ...string) *sip.Request {
	t.Helper()
	return guardReq(t, "INVITE sip:+15551234@sb.example.com SIP/2.0", append([]string{
		"Subject: Performance Test",
		"Allow: INVITE, ACK, BYE, CANCEL, UPDATE",
		"k: 100rel, timer",
		"x: 1800;refresher=uac",
		"Min-SE: 90",
	}, extra...)...)
}

func TestHeaderHelpers(t *testing.T) {
	req := parsedInvite(t)
	if !hasOption(req, "Supported", "k", "TIMER") || hasOption(req, "Require", "", "timer") {
		t.Error("hasOption: Supported (compact k) lists timer, no Require")
	}
	if !allowsUpdate(req) {
		t.Error("allowsUpdate: Allow lists UPDATE")
	}
	if secs, ref, ok := sessionExpires(req); !ok || secs != 1800 || ref != "uac" {
		t.Errorf("sessionExpires (compact x) = %d %q %v", secs, ref, ok)
	}
	if n := minSE(req); n != 90 {
		t.Errorf("minSE = %d", n)
	}
	if v, ok := firstValue(req, "subject", "s"); !ok || v != "Performance Test" {
		t.Errorf("firstValue(subject) = %q %v", v, ok)
	}
	if hasHeader(req, "Accept", "") {
		t.Error("hasHeader: no Accept")
	}
	for _, c := range []struct {
		v, tag string
		want   bool
	}{{"a, b,c", "c", true}, {" A ", "a", true}, {"ab", "a", false}, {"", "a", false}, {"a,,b", "", true}} {
		if got := listHas(c.v, c.tag); got != c.want {
			t.Errorf("listHas(%q, %q) = %v", c.v, c.tag, got)
		}
	}
}

// The lookups allocate nothing, unlike sipgo's GetHeader(s), which lowercase
// every header name outside their short list (Subject, Allow, …) each time.
func TestHeaderHelpersAllocateNothing(t *testing.T) {
	req := parsedInvite(t, "Accept: application/sdp")
	n := testing.AllocsPerRun(100, func() {
		_ = hasOption(req, "Supported", "k", "timer")
		_ = hasOption(req, "Require", "", "timer")
		_ = minSE(req)
		_, _ = firstValue(req, "Accept", "")
		_ = hasHeader(req, "Via", "v")
		_ = headerNamed(req, "Timestamp")
		_ = checkInviteContent(req)
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// setBody writes the same message as sipgo's SetBody, with one
// Content-Length, on a new message and on one that has it already.
func TestSetBodyMatchesSipgo(t *testing.T) {
	for _, body := range [][]byte{nil, []byte("v=0\r\n")} {
		for _, preset := range []bool{false, true} {
			mk := func() *sip.Response {
				res := sip.NewResponse(200, "OK")
				res.AppendHeader(sip.NewHeader("Server", "sb"))
				if preset {
					res.SetBody([]byte("old body"))
				}
				return res
			}
			ours, theirs := mk(), mk()
			setBody(ours, body)
			theirs.SetBody(body)
			if ours.String() != theirs.String() {
				t.Errorf("body %q preset %v:\nours   %q\nsipgo  %q", body, preset, ours.String(), theirs.String())
			}
			if c := strings.Count(ours.String(), "Content-Length"); c != 1 {
				t.Errorf("body %q preset %v: %d Content-Length headers", body, preset, c)
			}
		}
	}
}

// A request our builders made, completed by complete, is the request
// sipgo's ClientRequestBuild would have made of it; one lacking a mandatory
// header is left to ClientRequestBuild.
func TestCompleteMatchesSipgo(t *testing.T) {
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	build := func(body []byte) *sip.Request {
		inv := builtMessages()["invite"].(*sip.Request)
		r := sip.NewRequest(sip.BYE, inv.Recipient)
		r.AppendHeader(inv.Via())
		r.AppendHeader(inv.From())
		r.AppendHeader(inv.To())
		r.AppendHeader(inv.CallID())
		r.AppendHeader(&sip.CSeqHeader{SeqNo: 2, MethodName: sip.BYE})
		mf := sip.MaxForwardsHeader(70)
		r.AppendHeader(&mf)
		if body != nil {
			r.SetBody(body)
		}
		return r
	}
	for _, body := range [][]byte{nil, []byte("v=0\r\n")} {
		ours, theirs := build(body), build(body)
		if !complete(ours) {
			t.Fatal("complete: a request with every mandatory header is not complete")
		}
		if err := sipgo.ClientRequestBuild(cli, theirs); err != nil {
			t.Fatal(err)
		}
		if ours.String() != theirs.String() {
			t.Errorf("body %q:\nours  %q\nsipgo %q", body, ours.String(), theirs.String())
		}
	}
	r := sip.NewRequest(sip.BYE, sip.Uri{Host: "example.com"})
	r.AppendHeader(&sip.CSeqHeader{SeqNo: 2, MethodName: sip.BYE})
	if complete(r) {
		t.Error("complete: a request without From, To, Call-ID and Max-Forwards is complete")
	}
}

// TestIsNamed: a header's name matches in any ASCII case, or by its
// compact form; a name that equals ours only under Unicode folding (ſ
// folds to s, the Kelvin sign to k) does not: header names are ASCII
// tokens.
func TestIsNamed(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"Supported", true}, {"SUPPORTED", true}, {"supported", true}, {"k", true}, {"K", true},
		{"Supporte", false}, {"Require", false}, {"Suppoſted", false}, {"\u212a", false},
	} {
		if got := isNamed(sip.NewHeader(c.name, "x"), "Supported", "k"); got != c.want {
			t.Errorf("isNamed(%q, Supported, k) = %v, want %v", c.name, got, c.want)
		}
	}
	if got := isNamed(sip.NewHeader("x", "1"), "Expires", ""); got {
		t.Error("a one-letter name matched an empty compact form")
	}
}
