package e2e

// Real softphones: two baresip processes (Debian package baresip) register
// to Switchboard with digest auth, call each other by extension and by SIP
// address, put the call on hold and take it back, and hang up, with G.711
// audio flowing through the relay. baresip is driven through its ctrl_tcp
// module (netstring-framed JSON commands and events).
//
// baresip 1.0 (libre 1.x) gives up on a 401 that carries any SHA-256
// challenge ("Function not implemented"), so this server offers MD5 only
// (--digest-algorithms MD5); docs/security.md explains the setting.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBaresipSoftphones: alice and bob on baresip call each other through
// the B2BUA with the media anchored, hold and resume included.
func TestBaresipSoftphones(t *testing.T) {
	s := startServerWith(t, "--digest-algorithms", "MD5")
	needBaresip(t)
	s.apply(t, contosoDoc)
	tone := writeTone(t, 20*time.Second)

	alice := startBaresip(t, s, "alice", alicePassword, tone)
	bob := startBaresip(t, s, "bob", bobPassword, tone)
	// They may register before their control connection is up: count the
	// bindings on the server instead of waiting for REGISTER_OK events.
	waitFor(t, 15*time.Second, 200*time.Millisecond, "both softphones registered", func() (bool, string) {
		n := s.metric(t, "switchboard_registrations", nil)
		return n == 2, fmt.Sprintf("%v bindings", n)
	})

	// The relay counts a call's packets when the call ends.
	packets := func() (float64, float64) {
		return s.metric(t, "switchboard_media_packets_total", map[string]string{"direction": "caller_to_callee"}),
			s.metric(t, "switchboard_media_packets_total", map[string]string{"direction": "callee_to_caller"})
	}
	var up0, down0 float64
	talk := func() { // both phones stream their tone, 50 packets a second
		time.Sleep(2 * time.Second)
	}
	relayed := func(what string) {
		t.Helper()
		waitFor(t, 10*time.Second, 200*time.Millisecond, what, func() (bool, string) {
			up, down := packets()
			return up-up0 >= 100 && down-down0 >= 100,
				fmt.Sprintf("relayed %v caller→callee, %v callee→caller packets", up-up0, down-down0)
		})
		up0, down0 = packets()
	}
	up0, down0 = packets()

	// alice dials bob's extension; bob's phone answers by itself.
	alice.command(t, "dial", "sip:1002@"+domain)
	bob.await(t, "CALL_ESTABLISHED", 10*time.Second)
	alice.await(t, "CALL_ESTABLISHED", 10*time.Second)
	talk()

	// Hold and resume: each a re-INVITE relayed across the B2BUA.
	alice.command(t, "hold", "")
	bob.awaitParam(t, "CALL_REMOTE_SDP", "offer", 10*time.Second)
	alice.awaitParam(t, "CALL_REMOTE_SDP", "answer", 10*time.Second)
	alice.command(t, "resume", "")
	bob.awaitParam(t, "CALL_REMOTE_SDP", "offer", 10*time.Second)
	alice.awaitParam(t, "CALL_REMOTE_SDP", "answer", 10*time.Second)
	talk()

	alice.command(t, "hangup", "")
	bob.await(t, "CALL_CLOSED", 10*time.Second)
	alice.await(t, "CALL_CLOSED", 10*time.Second)
	relayed("G.711 both ways between the softphones, before hold and after resume")

	// bob calls alice back by her SIP address and hangs up himself.
	bob.command(t, "dial", "sip:alice@"+domain)
	alice.await(t, "CALL_ESTABLISHED", 10*time.Second)
	bob.await(t, "CALL_ESTABLISHED", 10*time.Second)
	talk()
	bob.command(t, "hangup", "")
	alice.await(t, "CALL_CLOSED", 10*time.Second)
	relayed("G.711 both ways on the call back")

	var got []cdr
	waitFor(t, 10*time.Second, 200*time.Millisecond, "two answered CDRs", func() (bool, string) {
		var err error
		if got, err = s.cdrs(t); err != nil {
			return false, err.Error()
		}
		return len(got) == 2, fmt.Sprintf("%d CDRs: %v", len(got), got)
	})
	byCaller := map[string]cdr{}
	for _, c := range got {
		byCaller[c.Caller] = c
		if c.Result != "answered" {
			t.Errorf("CDR %v: result %q, want answered", c, c.Result)
		}
	}
	if c := byCaller["alice@contoso.com"]; c.Callee != "bob@contoso.com" || c.HangupBy != "caller" {
		t.Errorf("alice's call: %v, want callee bob@contoso.com hung up by the caller", c)
	}
	if c := byCaller["bob@contoso.com"]; c.Callee != "alice@contoso.com" || c.HangupBy != "caller" {
		t.Errorf("bob's call: %v, want callee alice@contoso.com hung up by the caller", c)
	}
}

// needBaresip fails when baresip is missing: the full tier installs it.
func needBaresip(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		t.Fatalf("baresip not found (Debian package baresip; `make test` installs it): %v", err)
	}
}

// softphone is one baresip process and its control connection.
type softphone struct {
	name string
	conn net.Conn

	mu     sync.Mutex
	events []phoneEvent // not yet awaited
	notify chan struct{}
	log    *procLog
}

type phoneEvent struct {
	Event    bool   `json:"event"`
	Type     string `json:"type"`
	Param    string `json:"param"`
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
}

// startBaresip runs baresip for user@contoso.com with its own
// configuration directory: UDP on a port the kernel picks, G.711 µ-law, the tone file
// as its microphone, auto-answer, registering through the server.
func startBaresip(t *testing.T, s *server, user, password, tone string) *softphone {
	t.Helper()
	dir := t.TempDir()
	ctrl := freePort(t)
	rtp := strings.Split(freeUDPRange(t, 40), "-")
	config := strings.Join([]string{
		"poll_method poll",
		"sip_listen 127.0.0.1:0", // the kernel picks: baresip also listens on the next TCP port
		"sip_trans_def udp",
		"audio_source aufile," + tone,
		"audio_player aufile," + filepath.Join(dir, "heard.wav"),
		"audio_alert aufile," + filepath.Join(dir, "alert.wav"),
		"rtp_ports " + rtp[0] + "-" + rtp[1],
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module aufile.so",
		"module ctrl_tcp.so",
		"module_app account.so",
		"module_app menu.so",
		"ctrl_tcp_listen 127.0.0.1:" + strconv.Itoa(ctrl),
	}, "\n") + "\n"
	account := fmt.Sprintf("<sip:%s@%s;transport=udp>;auth_pass=%s;outbound=\"sip:%s\";regint=300;answermode=auto;audio_codecs=PCMU\n",
		user, domain, password, s.SIP)
	for name, body := range map[string]string{"config": config, "accounts": account} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := newProcLog(filepath.Join(dir, "baresip.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, "baresip", "-f", dir)
	cmd.Stdout, cmd.Stderr = l, l
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("baresip: %v", err)
	}
	p := &softphone{name: user, notify: make(chan struct{}, 1), log: l}
	t.Cleanup(func() {
		if p.conn != nil {
			_ = p.conn.Close()
		}
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			dumpLines(t, "baresip "+user, l.snapshot(), 80)
		}
		l.close()
	})
	waitFor(t, 10*time.Second, 100*time.Millisecond, "baresip "+user+" control port", func() (bool, string) {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrl)))
		if err != nil {
			return false, err.Error()
		}
		p.conn = c
		return true, ""
	})
	go p.read()
	return p
}

// read collects the netstring-framed JSON messages baresip sends.
func (p *softphone) read() {
	r := bufio.NewReader(p.conn)
	for {
		head, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(head, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		body := make([]byte, n+1) // the message and its ','
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var ev phoneEvent
		if json.Unmarshal(body[:n], &ev) != nil {
			continue
		}
		p.mu.Lock()
		p.events = append(p.events, ev)
		p.mu.Unlock()
		select {
		case p.notify <- struct{}{}:
		default:
		}
	}
}

// command sends one ctrl_tcp command and waits for its response.
func (p *softphone) command(t *testing.T, name, params string) {
	t.Helper()
	msg, _ := json.Marshal(map[string]string{"command": name, "params": params, "token": name})
	if _, err := fmt.Fprintf(p.conn, "%d:%s,", len(msg), msg); err != nil {
		t.Fatalf("%s: %s: %v", p.name, name, err)
	}
	ev := p.next(t, func(e phoneEvent) bool { return e.Response }, 5*time.Second, name+" response", false)
	if !ev.OK {
		t.Fatalf("%s: %s %s refused: %s", p.name, name, params, ev.Data)
	}
}

func (p *softphone) await(t *testing.T, typ string, timeout time.Duration) {
	t.Helper()
	p.next(t, func(e phoneEvent) bool { return e.Event && e.Type == typ }, timeout, typ, true)
}

func (p *softphone) awaitParam(t *testing.T, typ, param string, timeout time.Duration) {
	t.Helper()
	p.next(t, func(e phoneEvent) bool { return e.Event && e.Type == typ && e.Param == param }, timeout, typ+" "+param, true)
}

// next removes and returns the first message match accepts, waiting up to
// timeout for it to arrive. With past it also drops the messages before it:
// events of a state the call has left (a command's response may come after
// the events the command caused, so it keeps them).
func (p *softphone) next(t *testing.T, match func(phoneEvent) bool, timeout time.Duration, what string, past bool) phoneEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for i, e := range p.events {
			if match(e) {
				if past {
					p.events = p.events[i+1:]
				} else {
					p.events = append(p.events[:i:i], p.events[i+1:]...)
				}
				p.mu.Unlock()
				return e
			}
		}
		seen := make([]string, 0, len(p.events))
		for _, e := range p.events {
			seen = append(seen, e.Type+"/"+e.Param)
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-deadline:
			t.Fatalf("%s: no %s within %v (pending: %v)", p.name, what, timeout, seen)
		}
	}
}

// writeTone writes d of a 440 Hz tone as an 8 kHz 16-bit mono WAV file,
// the microphone of the softphones (baresip's ausine only runs at 48 kHz).
func writeTone(t *testing.T, d time.Duration) string {
	t.Helper()
	const rate = 8000
	n := int(d.Seconds() * rate)
	data := make([]byte, 44+2*n)
	copy(data, "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], 2*rate)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
