package robust

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// TestPROTOS sends all 4527 cases of PROTOS c07-sip over UDP, each INVITE
// followed by its CANCEL (the few too large for a datagram go over TCP).
// After every case the valid case 0 must still get a final response (407:
// the caller has not authenticated). At the end no dialog, relay port or goroutine may be
// left over.
func TestPROTOS(t *testing.T) {
	const (
		probeEvery = 1               // the valid case after every case
		budget     = 4 * time.Minute // the whole run, sending and probes
	)
	dir := testdata(t, "protos-c07-sip")
	s := startServer(t, os.Getenv("ROBUST_LOG_LEVEL"))
	s.apply(t, contosoDoc)
	files, err := filepath.Glob(filepath.Join(dir, "[0-9]*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) != 4527 {
		t.Fatalf("%d cases in %s, want 4527", len(files), dir)
	}
	cases := make([]testkit.ProtosCase, len(files))
	for i, f := range files {
		if cases[i], err = testkit.ReadProtosCase(f); err != nil {
			t.Fatal(err)
		}
	}

	sock := dialUDP(t, s.SIP)
	fill := func(name, kind string) testkit.ProtosFill {
		return testkit.ProtosFill{To: "bob@" + domain, From: "alice@" + domain, Addr: "127.0.0.1", Port: sock.port(),
			CallID: "protos-" + kind + "-" + name, Branch: kind + name, Teardown: "CANCEL"}
	}
	// One reader answers every final response to an INVITE with an ACK
	// (so the server's transactions end at once) and hands the probes'
	// answers to the waiting test.
	r := newProtosReader(t, sock)
	defer r.stop()

	// sync waits until the server has read everything sent so far: its
	// UDP socket is read in order, so once an OPTIONS sent last is
	// answered, nothing before it is still queued (a burst of large
	// cases would otherwise overflow the socket buffer and never reach
	// the parser).
	syncs := 0
	sync := func() {
		t.Helper()
		syncs++
		id := fmt.Sprintf("protos-sync-%d", syncs)
		opt := []byte("OPTIONS sip:" + s.SIP + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:" + strconv.Itoa(sock.port()) + ";branch=z9hG4bK" + id + ";rport\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:alice@" + domain + ">;tag=sync\r\nTo: <sip:" + s.SIP + ">\r\n" +
			"Call-ID: " + id + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
		if _, ok := r.request(id, opt, 10*time.Second); !ok {
			s.requireRunning(t)
			t.Fatalf("OPTIONS %s got no answer within 10s", id)
		}
	}
	probe := func(after string) {
		t.Helper()
		f := fill(after, "probe")
		code, ok := r.request(f.CallID+"@127.0.0.1", f.Apply(cases[0].Invite), 10*time.Second)
		if !ok {
			s.requireRunning(t)
			t.Fatalf("after case %s the valid case 0 got no final response within 10s", after)
		}
		if code != 407 {
			t.Errorf("after case %s the valid case 0 got %d, want 407", after, code)
		}
		sock.send(t, f.Apply(cases[0].Teardown))
	}

	// Warm up, then measure the baseline.
	probe("warm-up")
	waitQuiet(t, s, "before the run")
	baseline := s.metric(t, "go_goroutines")
	t.Logf("baseline: %v goroutines", baseline)

	start := time.Now()
	overTCP, unsynced := 0, 0
	for i, c := range cases {
		if time.Since(start) > budget {
			t.Fatalf("budget of %v spent after %d of %d cases", budget, i, len(cases))
		}
		f := fill(c.Name, "case")
		inv, td := f.Apply(c.Invite), f.Apply(c.Teardown)
		if len(inv) > maxUDP || len(td) > maxUDP {
			// Larger than any UDP datagram: these go over TCP instead,
			// where they test the stream parser's size limit.
			overTCP++
			sendTCP(t, s.SIP, append(inv, td...))
		} else {
			for _, b := range [][]byte{inv, td} {
				// Keep what the server has not read yet well under its
				// socket buffer (counting the kernel's per-datagram cost).
				if unsynced+len(b) > 96<<10 {
					sync()
					unsynced = 0
				}
				sock.send(t, b)
				unsynced += len(b) + 1024
			}
		}
		if (i+1)%probeEvery == 0 || i == len(cases)-1 {
			probe(c.Name) // also a sync: its answer comes after all before it was read
			unsynced = 0
		}
	}
	t.Logf("%d cases sent in %v (%d too large for UDP sent over TCP, %d syncs); %d responses received",
		len(cases), time.Since(start).Round(time.Millisecond), overTCP, syncs, r.count())
	t.Logf("INVITE outcomes: %s", r.summary(len(cases)))
	if drops, err := udpDrops(s.SIP); err != nil {
		t.Logf("cannot read the server socket's drop counter: %v", err)
	} else if drops > 0 {
		t.Errorf("the kernel dropped %d datagrams at the server's socket: not every case reached the parser", drops)
	}
	s.requireRunning(t)

	// Transactions end after at most 64*T1 (32 s); poll until the server
	// is back to its baseline.
	const slack = 15
	waitFor(t, 90*time.Second, 500*time.Millisecond, "dialogs, relay ports and goroutines back to baseline", func() (bool, string) {
		d := s.metric(t, "switchboard_sip_dialogs")
		p := s.metric(t, "switchboard_media_ports_in_use")
		g := s.metric(t, "go_goroutines")
		return d == 0 && p == 0 && g <= baseline+slack,
			fmt.Sprintf("%v dialogs, %v relay ports, %v goroutines (baseline %v + %d)", d, p, g, baseline, slack)
	})
}

// udpDrops reads the kernel's drop counter of the UDP socket bound to
// addr (127.0.0.1:port) from /proc/net/udp.
func udpDrops(addr string) (int, error) {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, err
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 13 && f[1] == local {
			return strconv.Atoi(f[len(f)-1])
		}
	}
	return 0, fmt.Errorf("no socket %s in /proc/net/udp", local)
}

// maxUDP is the largest UDP payload over IPv4.
const maxUDP = 65507

// sendTCP writes b on a fresh connection and closes it without waiting
// for an answer.
func sendTCP(t *testing.T, addr string, b []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("tcp: %v", err)
	}
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(b) // the server may close early on a message it refuses
	_ = c.Close()
}

// waitQuiet waits until no dialog or relay port is in use.
func waitQuiet(t *testing.T, s *server, when string) {
	t.Helper()
	waitFor(t, 60*time.Second, 250*time.Millisecond, "no dialog or relay port in use "+when, func() (bool, string) {
		d, p := s.metric(t, "switchboard_sip_dialogs"), s.metric(t, "switchboard_media_ports_in_use")
		return d == 0 && p == 0, fmt.Sprintf("%v dialogs, %v relay ports", d, p)
	})
}

// protosReader reads the responses on the test's socket: it ACKs every
// final response to an INVITE and records the final status of the
// Call-IDs a probe waits for.
type protosReader struct {
	t    *testing.T
	sock *sipSocket
	done chan struct{}

	mu      sync.Mutex
	n       int
	waiting map[string]chan int
	cases   map[string]int // Call-ID of a case → its first final status
}

func newProtosReader(t *testing.T, sock *sipSocket) *protosReader {
	r := &protosReader{t: t, sock: sock, done: make(chan struct{}), waiting: map[string]chan int{}, cases: map[string]int{}}
	go r.run()
	return r
}

func (r *protosReader) run() {
	defer close(r.done)
	buf := make([]byte, 65535)
	for {
		_ = r.sock.conn.SetReadDeadline(time.Now().Add(10 * time.Minute))
		n, _, err := r.sock.conn.ReadFromUDP(buf)
		if err != nil {
			return // socket closed
		}
		m, _, err := parseMessage(append([]byte(nil), buf[:n]...), true)
		if err != nil || m.code == 0 {
			continue
		}
		r.mu.Lock()
		r.n++
		ch := r.waiting[m.get("Call-ID")]
		r.mu.Unlock()
		if m.code < 200 {
			continue
		}
		if id := m.get("Call-ID"); strings.HasPrefix(id, "protos-case-") && strings.Contains(m.get("CSeq"), "INVITE") {
			r.mu.Lock()
			if _, seen := r.cases[id]; !seen {
				r.cases[id] = m.code
			}
			r.mu.Unlock()
		}
		seq, method, _ := strings.Cut(m.get("CSeq"), " ")
		if strings.TrimSpace(method) == "INVITE" {
			if ack := ackFor(m, seq); ack != nil {
				_, _ = r.sock.conn.WriteToUDP(ack, r.sock.dst)
			}
		}
		if ch != nil {
			select {
			case ch <- m.code:
			default:
			}
		}
	}
}

// ackFor builds the ACK of a non-2xx final response from its own headers
// (RFC 3261 §17.1.1.3: same branch, the response's To tag).
func ackFor(res *message, seq string) []byte {
	via := res.get("Via")
	if via == "" || res.get("Call-ID") == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("ACK sip:bob@" + domain + " SIP/2.0\r\n")
	b.WriteString("Via: " + via + "\r\n")
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("From: " + res.get("From") + "\r\n")
	b.WriteString("To: " + res.get("To") + "\r\n")
	b.WriteString("Call-ID: " + res.get("Call-ID") + "\r\n")
	b.WriteString("CSeq: " + strings.TrimSpace(seq) + " ACK\r\n")
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// request sends req (whose Call-ID is callID) and retransmits it like a
// UAC over UDP (RFC 3261 Timer A/E, capped at 1 s) until a final response
// comes back or d passes; it returns that response's status.
func (r *protosReader) request(callID string, req []byte, d time.Duration) (int, bool) {
	ch := make(chan int, 1)
	r.mu.Lock()
	r.waiting[callID] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, callID)
		r.mu.Unlock()
	}()
	deadline := time.After(d)
	interval := 100 * time.Millisecond
	for {
		_, _ = r.sock.conn.WriteToUDP(req, r.sock.dst)
		select {
		case code := <-ch:
			return code, true
		case <-deadline:
			return 0, false
		case <-time.After(interval):
			interval = min(2*interval, time.Second)
		}
	}
}

// summary counts the cases' INVITEs by first final status.
func (r *protosReader) summary(total int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	byCode := map[int]int{}
	for _, c := range r.cases {
		byCode[c]++
	}
	codes := make([]int, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b strings.Builder
	for _, c := range codes {
		fmt.Fprintf(&b, "%d×%d ", byCode[c], c)
	}
	fmt.Fprintf(&b, "no final response (dropped by the parser or over TCP) ×%d", total-len(r.cases))
	return b.String()
}

func (r *protosReader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *protosReader) stop() {
	_ = r.sock.conn.Close()
	<-r.done
}
