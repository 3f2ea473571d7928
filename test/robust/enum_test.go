package robust

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hundredUsers is a tenant of 100 users whose user names are their
// extensions, 2000 to 2099.
func hundredUsers() string {
	var b strings.Builder
	b.WriteString("tenant: fabrikam\ndomains: [" + domain + "]\nusers:\n")
	for i := 2000; i < 2100; i++ {
		fmt.Fprintf(&b, "  - {sipAddress: \"%d@%s\", displayName: User %d, password: \"pw-%d-Secret!\", extension: \"%d\"}\n",
			i, domain, i, i, i)
	}
	return b.String()
}

// TestSvwarFindsNothing scans a tenant of 100 users with sipvicious' svwar
// with each method it knows, over a range that covers every real
// extension and, one at a time, over a few real extensions alone: it must
// report no extension. (svwar first asks for a random extension to learn
// the "unknown user" answer; a challenge there makes it give up unless
// --force, and with --force an answer identical to that one is not a find.)
func TestSvwarFindsNothing(t *testing.T) {
	svwar := needTool(t, "sipvicious", "svwar", "sipvicious_svwar")
	s := startServer(t, "")
	s.apply(t, hundredUsers())
	_, port, _ := strings.Cut(s.SIP, ":")
	for _, method := range []string{"REGISTER", "INVITE", "OPTIONS"} {
		for _, scan := range []struct{ name, ext string }{
			{"range", "1990-2110"}, {"ext 2000", "2000"}, {"ext 2057", "2057"}, {"ext 2099", "2099"},
		} {
			t.Run(method+" "+scan.name, func(t *testing.T) {
				t.Parallel()
				args := []string{"-e", scan.ext, "-m", method, "--force", "--domain", domain,
					"-p", port, "-b", "127.0.0.1", "-x", "127.0.0.1", "-P", strconv.Itoa(freePort(t)),
					"--maximumtime", "5", "-v", "127.0.0.1"}
				text := runSipvicious(t, svwar, args)
				if found := extensionLines.FindAllString(text, -1); len(found) > 0 {
					t.Errorf("svwar found %d extensions: %v", len(found), found)
				}
				if !strings.Contains(text, "found nothing") {
					t.Errorf("svwar did not report \"found nothing\"")
				}
			})
		}
	}
	t.Run("REGISTER without --force", func(t *testing.T) {
		t.Parallel()
		text := runSipvicious(t, svwar, []string{"-e", "1990-2110", "-m", "REGISTER", "--domain", domain,
			"-p", port, "-b", "127.0.0.1", "-x", "127.0.0.1", "-P", strconv.Itoa(freePort(t)), "127.0.0.1"})
		if found := extensionLines.FindAllString(text, -1); len(found) > 0 {
			t.Errorf("svwar found %d extensions: %v", len(found), found)
		}
	})
}

// runSipvicious runs a sipvicious tool to completion (bounded) and returns
// its output.
func runSipvicious(t *testing.T, svwar string, args []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, svwar, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	text := string(out)
	name := filepath.Base(svwar)
	t.Logf("%s %s:\n%s", name, strings.Join(args, " "), text)
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within the time limit", name)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return text
}

var extensionLines = regexp.MustCompile(`extension '[^']*' (exists|probably exists)[^\n]*`)

// TestUnknownUserAnswersIdentical sends the same requests for an existing
// user (2000) and an unknown one (2999) and compares the answers byte for
// byte once the user name, our own identifiers, the nonce and the To tag
// are masked: status, reason, header names, order and values, and the
// challenge headers' shape must be the same.
func TestUnknownUserAnswersIdentical(t *testing.T) {
	s := startServer(t, "")
	s.apply(t, hundredUsers())
	sock := dialUDP(t, s.SIP)
	nonce := ""
	for _, tc := range []struct {
		name, method string
		creds        bool // with (wrong) credentials on a server nonce
	}{
		{"REGISTER", "REGISTER", false},
		{"REGISTER with wrong credentials", "REGISTER", true},
		{"INVITE", "INVITE", false},
		{"INVITE with wrong credentials", "INVITE", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var answers [2][]string
			for i, user := range []string{"2000", "2999"} {
				id := fmt.Sprintf("enum-%d-%d", time.Now().UnixNano(), i)
				req := enumRequest(tc.method, user, id, sock.port(), tc.creds, nonce)
				sock.send(t, req)
				ms := sock.collect(5*time.Second, hasFinal)
				if !hasFinal(ms) {
					t.Fatalf("%s for %s: no final response", tc.method, user)
				}
				for _, m := range ms {
					if n := nonceRE.FindStringSubmatch(string(m.raw)); n != nil {
						nonce = n[1] // for the next requests with credentials
					}
					answers[i] = append(answers[i], maskAnswer(string(m.raw), user, id))
				}
				if ack := ackFor(ms[len(ms)-1], "1"); tc.method == "INVITE" && ack != nil {
					sock.send(t, ack)
				}
			}
			want := 401
			if tc.method == "INVITE" {
				want = 407
			}
			if last := answers[0][len(answers[0])-1]; !strings.HasPrefix(last, "SIP/2.0 "+strconv.Itoa(want)+" ") {
				t.Errorf("existing user got %q, want %d", firstLine(last), want)
			}
			if strings.Join(answers[0], "\n----\n") != strings.Join(answers[1], "\n----\n") {
				t.Errorf("answers differ between an existing and an unknown user:\n--- 2000:\n%s\n--- 2999:\n%s",
					strings.Join(answers[0], "\n----\n"), strings.Join(answers[1], "\n----\n"))
			} else {
				t.Logf("identical (masked):\n%s", strings.Join(answers[0], "\n----\n"))
			}
			if n := strings.Count(answers[0][len(answers[0])-1], "Authenticate: Digest"); n != 2 {
				t.Errorf("%d challenges, want 2 (MD5 and SHA-256)", n)
			}
		})
	}
}

var (
	nonceRE = regexp.MustCompile(`nonce="([^"]*)"`)
	toTagRE = regexp.MustCompile(`(?m)^(To: [^\r\n]*;tag=)[^;\r\n]*`)
)

func maskAnswer(raw, user, id string) string {
	raw = nonceRE.ReplaceAllString(raw, `nonce="NONCE"`)
	raw = toTagRE.ReplaceAllString(raw, "${1}TAG")
	raw = strings.ReplaceAll(raw, id, "ID")
	return strings.ReplaceAll(raw, user, "USER")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// enumRequest is a REGISTER or an INVITE from user of the 100-user tenant,
// with made-up digest credentials when creds.
func enumRequest(method, user, id string, port int, creds bool, nonce string) []byte {
	ruri := "sip:" + domain
	hdr, body := "", ""
	if method == "INVITE" {
		ruri = "sip:2001@" + domain
		body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
		hdr = "Content-Type: application/sdp\r\n"
	}
	if creds {
		name := "Authorization"
		if method == "INVITE" {
			name = "Proxy-Authorization"
		}
		hdr += name + `: Digest username="` + user + `", realm="` + domain + `", nonce="` + nonce +
			`", uri="` + ruri + `", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"` + "\r\n"
	}
	return []byte(method + " " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:" + strconv.Itoa(port) + ";branch=z9hG4bK-" + id + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:" + user + "@" + domain + ">;tag=" + id + "\r\n" +
		"To: <sip:" + user + "@" + domain + ">\r\n" +
		"Call-ID: " + id + "\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Contact: <sip:" + user + "@127.0.0.1:" + strconv.Itoa(port) + ">\r\n" +
		hdr +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}
