package e2e

// Unit tests of the harness's own parsers; they need nothing installed and
// also run with -short.

import (
	"encoding/json"
	"testing"
)

func TestCDRDecode(t *testing.T) {
	const js = `[
 {"callId":"1-2@127.0.0.1","tenant":"contoso","caller":"alice@contoso.com","callee":"bob@contoso.com",
  "dialed":"1002","start":"2026-01-01T00:00:00Z","answer":"2026-01-01T00:00:01Z","end":"2026-01-01T00:00:03Z",
  "durationSeconds":2.004,"result":"answered","cause":200,"hangupBy":"caller"},
 {"callId":"x","result":"busy","cause":"486 Busy Here","durationSeconds":null,"answer":null},
 {"callId":"y","result":"not-found","cause":"404","durationSeconds":"0"}
]`
	var list []cdr
	if err := json.Unmarshal([]byte(js), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Cause != 200 || list[0].DurationSeconds < 2 || list[1].Cause != 486 || list[2].Cause != 404 {
		t.Errorf("decoded %v", list)
	}
	if !cdrFor("1002", nil)(list[0]) || cdrFor("1002", map[string]bool{"1-2@127.0.0.1": true})(list[0]) {
		t.Error("cdrFor does not match by dialled string and unseen Call-ID")
	}
	for _, d := range []string{"1002", "1002@contoso.com", "sip:1002@contoso.com"} {
		if !dialedMatches(d, "1002") {
			t.Errorf("dialed %q does not match 1002", d)
		}
	}
	if dialedMatches("10020", "1002") {
		t.Error("dialed 10020 matches 1002")
	}
}

func TestCheckDigest(t *testing.T) {
	// RFC 8760 section 3.9.1 example (SHA-256 and MD5, qop=auth), as HTTP.
	const (
		uri = "/dir/index.html"
		pw  = "Circle of Life"
		sha = `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
		md5 = `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	)
	for _, h := range []string{sha, md5} {
		p := checkDigest(t, h, "GET", uri, pw)
		if p["username"] != "Mufasa" {
			t.Errorf("username = %q", p["username"])
		}
	}
}
