package robust

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// torture is the expected handling of one RFC 4475 message. udp and tcp
// are "|"-separated alternatives, any of which passes:
//
//	answered  some final response (401/407 for a stranger's valid request,
//	          405 for a method we do not serve, 200 for OPTIONS...)
//	NNN       the first final response has this status
//	dropped   nothing comes back (a response that matches no transaction,
//	          or a message the parser discards)
//	closed    TCP: nothing comes back and the server closes the connection
//
// rfc is what RFC 4475 §3 says; why explains any difference.
type torture struct {
	file     string
	rfc      string
	udp, tcp string
	why      string
}

// rfc4475 is the table of all 49 messages, in the RFC's order.
var rfc4475 = []torture{
	// 3.1.1 Valid messages: a parser must accept them.
	{"wsinv", "accept", "400", "400",
		"sipgo reads the From tag of `tag = 98asjd8` (LWS around =) as absent, so the RFC 2543 transaction key it needs " +
			"(the top Via has no z9hG4bK branch) cannot be made; its transaction layer answers 400 statelessly"},
	{"intmeth", "accept; unknown method", "405", "405", "our 405 with Allow for a method we do not serve"},
	{"esc01", "accept", "answered", "answered", ""},
	{"escnull", "accept", "answered", "answered", ""},
	{"esc02", "accept; unknown method", "405", "405", "RE%47IST%45R is not REGISTER"},
	{"lwsdisp", "accept", "answered", "answered", ""},
	{"longreq", "accept", "dropped", "answered",
		"UDP: our 407 copies the 34 Via headers and long From/To, and sipgo refuses to send a UDP message over " +
			"1300 bytes (ErrUDPMTUCongestion) instead of letting IP fragment it; the request itself is handled"},
	{"dblreq", "handle the REGISTER, ignore the trailing bytes (UDP)", "answered", "answered|closed",
		"TCP (the RFC speaks of UDP): on a stream the INVITE is a second message; sipgo's stream parser loses the " +
			"framing after the REGISTER and closes the connection, usually before the 401 is written"},
	{"semiuri", "accept", "answered", "answered", ""},
	{"transports", "accept", "answered", "answered", ""},
	{"mpart01", "accept", "405", "405", "MESSAGE is not served"},
	{"unreason", "accept (response)", "dropped", "dropped", "a response matching no transaction is discarded"},
	{"noreason", "accept (response)", "dropped", "dropped", "a response matching no transaction is discarded"},

	// 3.1.2 Invalid messages.
	{"badinv01", "400", "dropped", "closed", "sipgo's parser rejects the Via; see parseDrop"},
	{"clerr", "400 (UDP); wait for more (TCP)", "dropped", "dropped", "UDP: sipgo discards an incomplete body; see parseDrop"},
	{"ncl", "400 (UDP); close (TCP)", "dropped", "closed", "UDP: see parseDrop; TCP: framing error closes the connection, as the RFC says"},
	{"scalar02", "400", "dropped", "closed", "the CSeq overflows uint32 in sipgo's parser; see parseDrop"},
	{"scalarlg", "drop (response)", "dropped", "closed", "TCP: a response the parser rejects closes the connection"},
	{"quotbal", "400 or infer the quote", "dropped", "closed", "see parseDrop"},
	{"ltgtruri", "400 or ignore the <>", "dropped", "closed", "see parseDrop"},
	{"lwsruri", "400 or ignore the LWS", "dropped", "closed", "see parseDrop"},
	{"lwsstart", "400 or ignore the extra SP", "dropped", "closed", "see parseDrop"},
	{"trws", "400 or ignore the trailing SP", "dropped", "closed", "see parseDrop"},
	{"escruri", "400 or ignore the escaped headers", "answered", "answered",
		"accepted: the B2BUA builds the B-leg afresh, so the headers never reach a request"},
	{"baddate", "400 or ignore the Date", "answered", "answered", "Date is ignored"},
	{"regbadct", "400 or infer the <>", "answered", "answered", "liberal: the 401 challenge comes first"},
	{"badaspec", "400 or ignore the spaces", "dropped", "closed", "see parseDrop"},
	{"baddn", "400 or accept", "answered", "answered", "liberal"},
	{"badvers", "505", "505", "505", ""},
	{"mismatch01", "400", "400", "400", ""},
	{"mismatch02", "501 (or 400)", "400", "400", "the CSeq mismatch is found first; 400 is allowed"},
	{"bigcode", "drop (response)", "dropped", "closed", "TCP: a response the parser rejects closes the connection"},

	// 3.2 Transaction layer.
	{"badbranch", "400 or fall back to RFC 2543 matching", "answered", "answered", ""},

	// 3.3 Application layer.
	{"insuf", "400", "400", "400", ""},
	{"unkscm", "416", "416", "416", ""},
	{"novelsc", "416 (or 404)", "dropped", "closed", "sipgo's parser does not accept the soap.beep scheme; see parseDrop"},
	{"unksm2", "400 at a registrar", "400", "400", ""},
	{"bext01", "420 with Unsupported", "420", "420", ""},
	{"invut", "415 at an endpoint", "415", "415", ""},
	{"regaut01", "401", "401", "401", ""},
	{"multi01", "400", "400", "400", ""},
	{"mcl01", "400 (UDP); close (TCP)", "400", "400|closed", ""},
	{"bcast", "drop (response)", "dropped", "dropped", ""},
	{"zeromf", "483 at a proxy; process at an endpoint", "483", "483",
		"addressed to a user we would call: 483 (see checkMaxForwards)"},
	{"cparam01", "accept", "answered", "answered", ""},
	{"cparam02", "accept", "answered", "answered", ""},
	{"regescrt", "accept", "answered", "answered", ""},
	{"sdp01", "406 (or 400)", "406", "406", ""},

	// 3.4 Backward compatibility.
	{"inv2543", "accept", "400", "closed",
		"UDP: an RFC 2543 request without a From tag cannot be matched to a transaction by sipgo, which answers 400 " +
			"statelessly; TCP: without Content-Length the body is read as the next message and the stream is unrecoverable"},
}

// parseDrop: sipgo's parser discards these before any handler runs. Over
// UDP the datagram is logged and dropped; over TCP the stream cannot be
// resynchronised and the connection is closed. RFC 4475 asks for a 400
// (or tolerance); silently discarding an unparseable message is the
// common posture of SBCs (nothing to fingerprint, nothing to reflect).

// TestRFC4475 sends each torture message over UDP and over TCP to a running
// server and checks the outcome against the table; the server must not
// panic and must still answer OPTIONS afterwards.
func TestRFC4475(t *testing.T) {
	dir := testdata(t, "rfc4475")
	s := startServer(t, "")
	s.apply(t, contosoDoc)
	files, err := filepath.Glob(filepath.Join(dir, "*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tc := range rfc4475 {
		names = append(names, tc.file)
	}
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".dat"); !slices.Contains(names, n) {
			t.Errorf("%s is not in the table", n)
		}
	}
	if len(rfc4475) != 49 {
		t.Errorf("table has %d messages, RFC 4475 has 49", len(rfc4475))
	}

	// Each transport gets its own servers: a transaction is keyed by branch,
	// sent-by and method, not by transport or source, so the UDP and TCP
	// copies of a message would meet as retransmissions of each other, and
	// so would the few messages of the RFC that share a key (waves keeps
	// those apart).
	waves := txWaves(t, dir)
	for _, tp := range []string{"udp", "tcp"} {
		for i, wave := range waves {
			t.Run(fmt.Sprintf("%s wave %d", tp, i+1), func(t *testing.T) {
				t.Parallel()
				runTorture(t, dir, tp, wave)
			})
		}
	}
}

// runTorture sends the messages of wave over tp to a fresh server, all at
// once from separate sockets, then judges each.
func runTorture(t *testing.T, dir, tp string, wave []torture) {
	s := startServer(t, "")
	s.apply(t, contosoDoc)
	exs := make([]exchange, len(wave))
	var wg sync.WaitGroup
	for i, tc := range wave {
		b := readFile(t, filepath.Join(dir, tc.file+".dat"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			const wait = 3 * time.Second // a message rightly dropped costs this once
			if tp == "udp" {
				exs[i] = udpExchange(t, s.SIP, b, wait)
				return
			}
			finals := 1
			if tc.file == "dblreq" {
				finals = 2 // on a stream the trailing INVITE is a second message
			}
			exs[i] = tcpExchange(t, s.SIP, b, wait, finals)
		}()
	}
	wg.Wait()
	for i, tc := range wave {
		want, ex := tc.udp, exs[i]
		if tp == "tcp" {
			want = tc.tcp
		}
		t.Run(tc.file, func(t *testing.T) {
			got := describe(ex)
			if !matches(want, ex) {
				t.Errorf("got %s, want %s (RFC 4475: %s)", got, want, tc.rfc)
				for _, m := range ex.responses {
					t.Logf("received:\n%s", m)
				}
				return
			}
			t.Logf("%-10s %s: %-8s RFC 4475: %s", tc.file, tp, got, tc.rfc)
			if tc.file == "bext01" && ex.final(420) != nil {
				u := ex.final(420).get("Unsupported")
				if !strings.Contains(u, "nothingSupportsThis") || !strings.Contains(u, "nothingSupportsThisEither") {
					t.Errorf("420 Unsupported = %q, want both Require option tags", u)
				}
			}
			if m := ex.final(505); m != nil && !strings.HasPrefix(m.start, "SIP/2.0 ") {
				t.Errorf("505 status line %q, want SIP/2.0", m.start)
			}
			for _, code := range []int{415, 406} {
				if m := ex.final(code); m != nil && !strings.Contains(m.get("Accept"), "application/sdp") {
					t.Errorf("%d without Accept: application/sdp", code)
				}
			}
		})
	}
	s.requireRunning(t)
	checkOptions(t, s)
}

// txWaves splits the table into waves in which no two requests share a
// server transaction key (RFC 3261 §17.2.3, as sipgo computes it).
func txWaves(t *testing.T, dir string) [][]torture {
	t.Helper()
	var waves [][]torture
	var keys []map[string]bool
	for _, tc := range rfc4475 {
		key := ""
		if m, err := sip.ParseMessage(readFile(t, filepath.Join(dir, tc.file+".dat"))); err == nil {
			key, _ = sip.ServerTxKeyMake(m)
		}
		placed := false
		for i := range waves {
			if key == "" || !keys[i][key] {
				waves[i] = append(waves[i], tc)
				keys[i][key] = key != ""
				placed = true
				break
			}
		}
		if !placed {
			waves = append(waves, []torture{tc})
			keys = append(keys, map[string]bool{key: true})
		}
	}
	return waves
}

// describe summarises an exchange for the log.
func describe(ex exchange) string {
	var parts []string
	for _, c := range ex.finals() {
		parts = append(parts, strconv.Itoa(c))
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, "+")
	case ex.closed:
		return "closed"
	default:
		return "dropped"
	}
}

func matches(spec string, ex exchange) bool {
	finals := ex.finals()
	for _, alt := range strings.Split(spec, "|") {
		switch alt {
		case "answered":
			if len(finals) > 0 {
				return true
			}
		case "dropped":
			if len(finals) == 0 && !ex.closed {
				return true
			}
		case "closed":
			if len(finals) == 0 && ex.closed {
				return true
			}
		default:
			if code, err := strconv.Atoi(alt); err == nil && len(finals) > 0 && finals[0] == code {
				return true
			}
		}
	}
	return false
}

// checkOptions asserts the server still answers a plain OPTIONS with 200
// over UDP and TCP.
func checkOptions(t *testing.T, s *server) {
	t.Helper()
	for _, tp := range []string{"UDP", "TCP"} {
		req := optionsRequest(tp, s.SIP)
		var ex exchange
		if tp == "UDP" {
			ex = udpExchange(t, s.SIP, req, 5*time.Second)
		} else {
			ex = tcpExchange(t, s.SIP, req, 5*time.Second, 1)
		}
		if f := ex.finals(); len(f) == 0 || f[0] != 200 {
			t.Errorf("OPTIONS over %s after the torture: got %s, want 200", tp, describe(ex))
		}
	}
}

// optionsRequest is a plain OPTIONS to the server itself, with fresh
// identifiers.
func optionsRequest(tp, target string) []byte {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	return []byte("OPTIONS sip:" + target + " SIP/2.0\r\n" +
		"Via: SIP/2.0/" + tp + " 127.0.0.1:9;branch=z9hG4bK-probe-" + id + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=probe" + id + "\r\n" +
		"To: <sip:" + target + ">\r\n" +
		"Call-ID: probe-" + id + "\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n")
}
