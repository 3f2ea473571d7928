package signaling

import (
	"regexp"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// responseRequests are requests responseTo answers: every header it copies
// or changes (Record-Route, several Vias, rport, Timestamp, a To-tag).
var responseRequests = map[string]string{
	"invite rport": "INVITE sip:bob@contoso.com SIP/2.0\r\n" +
		"Record-Route: <sip:p1.example.com;lr>\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKa;rport\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKb, SIP/2.0/TCP 192.0.2.8;branch=z9hG4bKc\r\n" +
		"Record-Route: <sip:p2.example.com;lr>\r\n" +
		"From: \"Alice\" <sip:alice@contoso.com>;tag=1928\r\n" +
		"To: <sip:bob@contoso.com>;x=y\r\n" +
		"Call-ID: a84b4c76e66710\r\n" +
		"CSeq: 314159 INVITE\r\n" +
		"Timestamp: 54\r\n" +
		"Max-Forwards: 70\r\n" +
		"Content-Length: 0\r\n\r\n",
	"register tagged": "REGISTER sip:contoso.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKr\r\n" +
		"Record-Route: <sip:p1.example.com;lr>\r\n" +
		"From: <sip:alice@contoso.com>;tag=77\r\n" +
		"To: <sip:alice@contoso.com>;tag=88\r\n" +
		"Call-ID: reg1\r\n" +
		"CSeq: 2 REGISTER\r\n" +
		"Content-Length: 0\r\n\r\n",
}

// toTags hides the To-tag each builder makes up (sipgo a UUID, we a
// shorter one), leaving a tag the request brought.
var toTags = regexp.MustCompile(`(?m)^(To: .*;tag=)[0-9a-zA-Z-]{16,}\r$`)

// TestResponseToMatchesSipgo: responseTo writes the same response as
// sipgo's NewResponseFromRequest, and leaves the request as it was.
func TestResponseToMatchesSipgo(t *testing.T) {
	for name, raw := range responseRequests {
		for _, code := range []int{100, 180, 183, 200, 407, 487, 500} {
			parse := func() *sip.Request {
				m, err := sip.ParseMessage([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				r := m.(*sip.Request)
				r.SetSource("198.51.100.7:40000")
				return r
			}
			theirs := sip.NewResponseFromRequest(parse(), code, "X", nil)
			req := parse()
			before := req.String()
			ours := responseTo(req, code, "X")
			want, got := toTags.ReplaceAllString(theirs.String(), "${1}T\r"), toTags.ReplaceAllString(ours.String(), "${1}T\r")
			if got != want {
				t.Errorf("%s %d:\n got %q\nwant %q", name, code, got, want)
			}
			if ours.Destination() != theirs.Destination() || ours.Transport() != theirs.Transport() {
				t.Errorf("%s %d: destination %s/%s, want %s/%s", name, code,
					ours.Destination(), ours.Transport(), theirs.Destination(), theirs.Transport())
			}
			if code > 100 { // a 100 shares the request's To: it is never tagged
				ours.To().Params.Add("tag", "later")
			}
			if req.String() != before {
				t.Errorf("%s %d: building the response (and tagging it) changed the request:\n%s", name, code, req.String())
			}
		}
	}
}

// TestResponseTaggedUsesTheDialogTag: the dialog's tag, unless the
// request's To has one; none on a 100.
func TestResponseTaggedUsesTheDialogTag(t *testing.T) {
	m, err := sip.ParseMessage([]byte(responseRequests["invite rport"]))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	if tag, _ := responseTagged(req, 180, "Ringing", "dlg1").To().Params.Get("tag"); tag != "dlg1" {
		t.Errorf("180 To-tag %q, want dlg1", tag)
	}
	if responseTagged(req, 100, "Trying", "dlg1").To().Params.Has("tag") {
		t.Error("100 Trying got a To-tag")
	}
	m, _ = sip.ParseMessage([]byte(responseRequests["register tagged"]))
	if tag, _ := responseTagged(m.(*sip.Request), 200, "OK", "dlg1").To().Params.Get("tag"); tag != "88" {
		t.Errorf("To-tag %q, want the request's 88", tag)
	}
	if s := responseTo(req, 180, "Ringing").To().String(); !strings.Contains(s, ";tag=") {
		t.Errorf("180 without a To-tag: %s", s)
	}
}
