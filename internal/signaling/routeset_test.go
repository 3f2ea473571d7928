package signaling

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestRouteSets(t *testing.T) {
	raw := strings.Join([]string{
		"SIP/2.0 200 OK",
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1",
		"Record-Route: <sip:p3.example.net;lr>, <sip:p2.example.net;lr>",
		"Record-Route: <sip:p1.example.net;transport=tls;lr>",
		"From: <sip:a@example.com>;tag=1",
		"To: <sip:b@example.com>;tag=2",
		"Call-ID: rs-1",
		"CSeq: 1 INVITE",
		"Content-Length: 0",
		"", ""}, "\r\n")
	parsed, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	m := parsed.(message)
	hosts := func(us []sip.Uri) string {
		var out []string
		for _, u := range us {
			out = append(out, u.Host)
		}
		return strings.Join(out, ",")
	}
	if got := hosts(recordRoutes(m, false)); got != "p3.example.net,p2.example.net,p1.example.net" {
		t.Errorf("UAS route set = %s", got)
	}
	uac := recordRoutes(m, true)
	if got := hosts(uac); got != "p1.example.net,p2.example.net,p3.example.net" {
		t.Errorf("UAC route set = %s", got)
	}
	r := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", Host: "b.example.com"})
	addRoutes(r, uac)
	var got []string
	for _, h := range r.GetHeaders("Route") {
		got = append(got, h.Value())
	}
	if want := "<sip:p1.example.net;transport=tls;lr>|<sip:p2.example.net;lr>|<sip:p3.example.net;lr>"; strings.Join(got, "|") != want {
		t.Errorf("Route headers = %q, want %q", got, want)
	}
	if recordRoutes(sip.NewRequest(sip.INVITE, sip.Uri{Host: "x"}), false) != nil {
		t.Error("no Record-Route must give an empty route set")
	}
}
