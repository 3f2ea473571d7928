package auth

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

const (
	tUser   = "alice"
	tRealm  = "contoso.com"
	tPass   = "correct horse"
	tURI    = "sip:contoso.com"
	tMethod = "REGISTER"
	tNonce  = "bm9uY2Utb2YtdGhlLXRlc3Q"
)

// clientResponse builds credentials the way a client does, with the
// icholy/digest client code, and parses them back with ParseCredentials: a
// cross-check against an independent implementation.
func clientResponse(t testing.TB, alg string, qop bool, method, password string) *Credentials {
	t.Helper()
	chal := &digest.Challenge{Realm: tRealm, Nonce: tNonce, Algorithm: alg}
	if qop {
		chal.QOP = []string{"auth"}
	}
	d, err := digest.Digest(chal, digest.Options{
		Method: method, URI: tURI, Username: tUser, Password: password,
		Cnonce: "0a4f113b", Count: 1,
	})
	if err != nil {
		t.Fatalf("digest.Digest: %v", err)
	}
	c, err := ParseCredentials(d.String())
	if err != nil {
		t.Fatalf("ParseCredentials(%q): %v", d.String(), err)
	}
	return c
}

func TestVerify(t *testing.T) {
	type tc struct {
		name   string
		alg    string // challenge algorithm
		qop    bool
		mutate func(c *Credentials)
		method string // verify with this method ("" = tMethod)
		ha1    string // verify with this HA1 ("" = HA1 of the right password)
		want   bool
	}
	var tests []tc
	for _, alg := range []string{"MD5", "SHA-256"} {
		for _, qop := range []bool{true, false} {
			tests = append(tests,
				tc{name: "ok", alg: alg, qop: qop, want: true},
				tc{name: "wrong password", alg: alg, qop: qop, ha1: HA1(alg, tUser, tRealm, "wrong"), want: false},
				tc{name: "wrong method", alg: alg, qop: qop, method: "INVITE", want: false},
				tc{name: "wrong uri", alg: alg, qop: qop, mutate: func(c *Credentials) { c.URI = "sip:fabrikam.com" }, want: false},
				tc{name: "tampered nonce", alg: alg, qop: qop, mutate: func(c *Credentials) { c.Nonce += "x" }, want: false},
				tc{name: "tampered response", alg: alg, qop: qop, mutate: func(c *Credentials) { c.Response = flipHex(c.Response) }, want: false},
				tc{name: "uppercase response", alg: alg, qop: qop, mutate: func(c *Credentials) { c.Response = strings.ToUpper(c.Response) }, want: true},
				tc{name: "truncated response", alg: alg, qop: qop, mutate: func(c *Credentials) { c.Response = c.Response[1:] }, want: false},
				tc{name: "dummy ha1", alg: alg, qop: qop, ha1: DummyHA1(alg), want: false},
				tc{name: "empty ha1", alg: alg, qop: qop, ha1: "-", want: false},
				tc{name: "unknown algorithm", alg: alg, qop: qop, mutate: func(c *Credentials) { c.Algorithm = "SHA-512-256" }, want: false},
				tc{name: "sess algorithm", alg: alg, qop: qop, mutate: func(c *Credentials) { c.Algorithm = alg + "-sess" }, want: false},
			)
		}
		tests = append(tests,
			tc{name: "wrong nc", alg: alg, qop: true, mutate: func(c *Credentials) { c.Nc = "00000002" }, want: false},
			tc{name: "wrong cnonce", alg: alg, qop: true, mutate: func(c *Credentials) { c.Cnonce = "deadbeef" }, want: false},
			tc{name: "qop auth-int", alg: alg, qop: true, mutate: func(c *Credentials) { c.QOP = "auth-int" }, want: false},
			tc{name: "qop dropped", alg: alg, qop: true, mutate: func(c *Credentials) { c.QOP = "" }, want: false},
			tc{name: "lowercase algorithm", alg: alg, qop: true, mutate: func(c *Credentials) { c.Algorithm = strings.ToLower(c.Algorithm) }, want: true},
		)
	}
	tests = append(tests,
		tc{name: "empty algorithm is MD5", alg: "", qop: true, ha1: HA1(pbx.AlgMD5, tUser, tRealm, tPass), want: true},
		tc{name: "SHA-256 response with MD5 ha1", alg: "SHA-256", qop: true, ha1: HA1(pbx.AlgMD5, tUser, tRealm, tPass), want: false},
		tc{name: "MD5 response with SHA-256 ha1", alg: "MD5", qop: true, ha1: HA1(pbx.AlgSHA256, tUser, tRealm, tPass), want: false},
	)
	for _, tt := range tests {
		qop := "noqop"
		if tt.qop {
			qop = "qop"
		}
		t.Run(tt.alg+"/"+qop+"/"+tt.name, func(t *testing.T) {
			c := clientResponse(t, tt.alg, tt.qop, tMethod, tPass)
			if tt.mutate != nil {
				tt.mutate(c)
			}
			method := tt.method
			if method == "" {
				method = tMethod
			}
			ha1 := tt.ha1
			switch ha1 {
			case "":
				ha1 = HA1(tt.alg, tUser, tRealm, tPass)
			case "-":
				ha1 = ""
			}
			if got := Verify(c, method, ha1); got != tt.want {
				t.Errorf("Verify(%+v, %q) = %v, want %v", c, method, got, tt.want)
			}
		})
	}
}

// TestVerifyRFCVectors checks the worked examples of RFC 2617 §3.5 and
// RFC 7616 §3.9.1.
func TestVerifyRFCVectors(t *testing.T) {
	tests := []struct {
		name, header, ha1 string
	}{
		{"RFC 2617", `Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			HA1(pbx.AlgMD5, "Mufasa", "testrealm@host.com", "Circle Of Life")},
		{"RFC 7616 MD5", `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			HA1(pbx.AlgMD5, "Mufasa", "http-auth@example.org", "Circle of Life")},
		{"RFC 7616 SHA-256", `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			HA1(pbx.AlgSHA256, "Mufasa", "http-auth@example.org", "Circle of Life")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCredentials(tt.header)
			if err != nil {
				t.Fatalf("ParseCredentials: %v", err)
			}
			if !Verify(c, "GET", tt.ha1) {
				t.Errorf("Verify = false, want true")
			}
		})
	}
}

func TestVerifyNil(t *testing.T) {
	if Verify(nil, tMethod, HA1(pbx.AlgMD5, tUser, tRealm, tPass)) {
		t.Fatal("Verify(nil) = true")
	}
}

// TestDummyHA1NeverVerifies shows that knowing the dummy value does not let a
// client authenticate as an unknown user.
func TestDummyHA1NeverVerifies(t *testing.T) {
	for _, alg := range []string{pbx.AlgMD5, pbx.AlgSHA256} {
		dummy := DummyHA1(alg)
		if want := len(HA1(alg, "u", "r", "p")); len(dummy) != want {
			t.Errorf("DummyHA1(%s) has length %d, want %d", alg, len(dummy), want)
		}
		chal := &digest.Challenge{Realm: tRealm, Nonce: tNonce, Algorithm: alg, QOP: []string{"auth"}}
		d, err := digest.Digest(chal, digest.Options{Method: tMethod, URI: tURI, Username: "mallory", A1: dummy})
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCredentials(d.String())
		if err != nil {
			t.Fatal(err)
		}
		if Verify(c, tMethod, dummy) {
			t.Errorf("%s: a response computed from the dummy HA1 verified", alg)
		}
	}
	if got := DummyHA1("whatever"); len(got) != 32 {
		t.Errorf("DummyHA1(unknown) length %d, want 32", len(got))
	}
}

func TestParseCredentials(t *testing.T) {
	got, err := ParseCredentials(`  Digest username="alice", realm="contoso.com", nonce="abc", uri="sip:contoso.com", response="0123", algorithm=SHA-256, cnonce="xyz", qop=auth, nc=0000000a, opaque="op"  `)
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{Username: "alice", Realm: "contoso.com", Nonce: "abc", URI: "sip:contoso.com", Response: "0123",
		Algorithm: "SHA-256", Cnonce: "xyz", QOP: "auth", Nc: "0000000a", Opaque: "op"}
	if *got != want {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}

	noqop, err := ParseCredentials(`Digest username="a", realm="r", nonce="n", uri="sip:r", response="x", nc=00000001`)
	if err != nil {
		t.Fatal(err)
	}
	if noqop.Nc != "" || noqop.QOP != "" {
		t.Errorf("without qop: Nc=%q QOP=%q, want both empty", noqop.Nc, noqop.QOP)
	}
}

func TestParseCredentialsMalformed(t *testing.T) {
	const ok = `username="a", realm="r", nonce="n", uri="sip:r", response="x"`
	for _, in := range []string{
		"",
		"Digest",
		"Digest ",
		"Basic YWxhZGRpbjpvcGVuc2VzYW1l",
		"Digest username",
		`Digest username="unterminated`,
		`Digest username="a" realm="r"`,
		`Digest =, =`,
		`Digest username=a b`,
		"Digest \x00\xff\xfe",
		`Digest realm="r", nonce="n", uri="sip:r", response="x"`,
		`Digest username="a", nonce="n", uri="sip:r", response="x"`,
		`Digest username="a", realm="r", uri="sip:r", response="x"`,
		`Digest username="a", realm="r", nonce="n", response="x"`,
		`Digest username="a", realm="r", nonce="n", uri="sip:r"`,
		"Digest " + ok + `, qop=auth, nc=00000001`,
		"Digest " + ok + `, qop=auth, cnonce="c"`,
		"Digest " + ok + `, qop=auth, cnonce="c", nc=zz`,
		"Digest " + ok + `, qop=auth, cnonce="c", nc=-1`,
		"Digest " + ok + `, qop=auth, cnonce="c", nc=00000000`,
		"Digest " + ok + `, qop=auth, cnonce="c", nc=ffffffffffffffffff`,
		"Digest " + ok + `, userhash=true`,
		strings.Repeat(`Digest "`, 1000),
	} {
		c, err := ParseCredentials(in)
		if err == nil {
			t.Errorf("ParseCredentials(%q) = %+v, want error", in, c)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCredentials(%q) error %v does not wrap ErrMalformed", in, err)
		}
	}
}

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		`Digest username="alice", realm="contoso.com", nonce="abc", uri="sip:contoso.com", response="0123", algorithm=MD5, cnonce="xyz", qop=auth, nc=00000001`,
		`Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="e966c932a9242554e42c8ee200cec7f6", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
		`Digest username="a\"b", realm="r\\", nonce="n", uri="sip:r", response="x", userhash=false`,
		`digest USERNAME="a"`,
		`Digest ,,,`,
		"Digest username=\"\xff\"",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCredentials(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || c != nil {
				t.Fatalf("error %v does not wrap ErrMalformed or credentials %v returned with it", err, c)
			}
			return
		}
		if c.Username == "" || c.Realm == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
			t.Fatalf("accepted credentials with a missing field: %+v", c)
		}
		if c.QOP != "" && (len(c.Nc) != 8 || c.Cnonce == "") {
			t.Fatalf("accepted qop without nc/cnonce: %+v", c)
		}
		for _, alg := range []string{pbx.AlgMD5, pbx.AlgSHA256} {
			Verify(c, tMethod, HA1(alg, c.Username, c.Realm, "p"))
			Verify(c, tMethod, DummyHA1(alg))
		}
		roundTrip(t, c)
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{pbx.AlgMD5, pbx.AlgSHA256} {
		b.Run(alg, func(b *testing.B) {
			c := clientResponse(b, alg, true, tMethod, tPass)
			ha1 := HA1(alg, tUser, tRealm, tPass)
			b.ReportAllocs()
			for b.Loop() {
				if !Verify(c, tMethod, ha1) {
					b.Fatal("Verify = false")
				}
			}
		})
	}
}

// flipHex changes the first hex digit of s.
func flipHex(s string) string {
	if s[0] == '0' {
		return "1" + s[1:]
	}
	return "0" + s[1:]
}

// TestParseCredentialsGrammar covers what the hand-written parser accepts
// beyond the common form: case-insensitive names, tokens, LWS, escapes,
// unknown parameters; and what it refuses.
func TestParseCredentialsGrammar(t *testing.T) {
	const base = `username="a", realm="r", nonce="n", uri="sip:r", response="x"`
	ok := []struct {
		in   string
		want Credentials
	}{
		{"DIGEST USERNAME=\"a\",Realm=\"r\",NONCE=n,uri=\"sip:r\",Response=x",
			Credentials{Username: "a", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x"}},
		{"Digest\tusername = \"a\\\"b\\\\\" ,\r\n realm=\"r\", nonce=\"n\", uri=\"sip:r\", response=\"x\", foo=\"bar, baz\", x-y=1.2",
			Credentials{Username: `a"b\`, Realm: "r", Nonce: "n", URI: "sip:r", Response: "x"}},
		{"Digest " + base + `, qop=auth, cnonce="c", nc=1`,
			Credentials{Username: "a", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x", QOP: "auth", Cnonce: "c", Nc: "00000001"}},
		{"Digest " + base + `, qop=auth, cnonce="c", nc=0000000A`,
			Credentials{Username: "a", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x", QOP: "auth", Cnonce: "c", Nc: "0000000a"}},
		{"Digest " + base + `, qop=auth, cnonce="c", nc=ffffffff, userhash=false`,
			Credentials{Username: "a", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x", QOP: "auth", Cnonce: "c", Nc: "ffffffff"}},
		{"Digest username=\"\xc3\xa9\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", response=\"x\"",
			Credentials{Username: "\xc3\xa9", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x"}},
	}
	for _, tt := range ok {
		var got Credentials
		if err := ParseCredentialsInto(&got, tt.in); err != nil {
			t.Errorf("ParseCredentialsInto(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseCredentialsInto(%q)\n got  %+v\n want %+v", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{
		"Digestusername=\"a\"",
		"Digest " + base + `, realm="r2"`,
		"Digest " + base + `, USERNAME="b"`,
		"Digest " + base + ",",
		"Digest , " + base,
		"Digest " + base + `, x=`,
		"Digest " + base + `, x="a` + "\x01" + `"`,
		"Digest " + base + `, x="a\`,
		"Digest " + base + `, x=(y)`,
		"Digest " + base + `, userhash=TRUE`,
	} {
		var c Credentials
		err := ParseCredentialsInto(&c, in)
		if err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCredentialsInto(%q) = %v, want an ErrMalformed error", in, err)
		}
		if c != (Credentials{}) {
			t.Errorf("ParseCredentialsInto(%q) left %+v after an error", in, c)
		}
	}
}

// TestParseCredentialsNoAllocs pins the point of the hand-written parser.
func TestParseCredentialsNoAllocs(t *testing.T) {
	h := benchAuthorization(benchNonces().Issue())
	var c Credentials
	if n := testing.AllocsPerRun(100, func() {
		if err := ParseCredentialsInto(&c, h); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ParseCredentialsInto allocates %v times per header, want 0", n)
	}
}

// roundTrip formats accepted credentials with icholy/digest's client code
// (an independent writer) and parses them again: the same fields must come
// back. Only for values that writer quotes without \x escapes.
func roundTrip(t *testing.T, c *Credentials) {
	t.Helper()
	printable := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return false
			}
		}
		return true
	}
	tokens := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if !isToken(s[i]) {
				return false
			}
		}
		return true
	}
	for _, f := range []string{c.Username, c.Realm, c.Nonce, c.URI, c.Response, c.Cnonce, c.Opaque} {
		if !printable(f) {
			return
		}
	}
	if !tokens(c.Algorithm) || !tokens(c.QOP) {
		return
	}
	d := digest.Credentials{Username: c.Username, Realm: c.Realm, Nonce: c.Nonce, URI: c.URI,
		Response: c.Response, Algorithm: c.Algorithm, Cnonce: c.Cnonce, Opaque: c.Opaque, QOP: c.QOP}
	if c.QOP != "" {
		nc, err := strconv.ParseUint(c.Nc, 16, 32)
		if err != nil {
			t.Fatalf("accepted nc %q: %v", c.Nc, err)
		}
		d.Nc = int(nc)
	}
	again, err := ParseCredentials(d.String())
	if err != nil {
		t.Fatalf("re-parse of %q: %v", d.String(), err)
	}
	want := *c
	if c.QOP == "" {
		want.Cnonce = "" // the writer sends cnonce with qop only
	}
	if *again != want {
		t.Fatalf("round trip through %q:\n got  %+v\n want %+v", d.String(), *again, want)
	}
}
