package signaling

import (
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
)

// burstServer starts a server on listen (its UDP front's afterRecv set to
// hook, if any) and a phone on 127.0.0.1; it skips when listen's family is
// missing.
func burstServer(t *testing.T, listen string, hook func()) (*Server, *net.UDPConn) {
	t.Helper()
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, nil)
	nonces := auth.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, time.Now)
	s, err := New(Config{Listen: listen}, Deps{Directory: func() *directory.Directory { return dir },
		Nonces: nonces, Registrar: registrar.New(nopBindings{}, registrar.Config{}, time.Now, nil)})
	if err != nil {
		t.Fatal(err)
	}
	s.frontAfterRecv = hook
	if err := s.Start(nil); err != nil {
		if strings.Contains(err.Error(), "address family") {
			t.Skip("no IPv6:", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = phone.Close() })
	_ = phone.SetReadBuffer(1 << 20)
	return s, phone
}

// TestFrontAnswersABurst: a burst of REGISTERs, more than the socket's
// readers at once, is answered in full, on an IPv4 socket and on a dual-stack
// IPv6 one, where the phone's IPv4 address comes and goes v4-mapped.
func TestFrontAnswersABurst(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::]:0"} {
		t.Run(listen, func(t *testing.T) {
			s, phone := burstServer(t, listen, nil)
			const n = 300
			for i := range n {
				sendTo(t, phone, s, frontRegister(phone, "z9hG4bKburst"+itoa(i), i+1, ""))
			}
			seen := map[string]bool{}
			for len(seen) < n {
				raw := recvRaw(t, phone, 5*time.Second)
				if raw == nil {
					t.Fatalf("%d of %d answered; the front's readers:\n%s", len(seen), n, readerStacks())
				}
				_, rest, _ := strings.Cut(string(raw), "branch=")
				branch, _, _ := strings.Cut(rest, ";")
				seen[branch] = true
			}
		})
	}
}

// TestFrontHelperTakesOverAStuckLeader: while the leader is stuck inside
// a datagram's handling (handlers must not wait, but should one), the
// watchdog calls a helper, which answers what comes meanwhile; and a
// helper holding a datagram answers it while the leader, released, waits
// for the next one in the netpoller — which holds the socket's read lock
// until a datagram comes. (The series reverted in session 4 lost answers
// that way: a reader, datagram in hand, called the read side again and
// waited for a datagram that at the end of a burst never came. A helper
// reads without that lock: tryRecv.)
func TestFrontHelperTakesOverAStuckLeader(t *testing.T) {
	if !sockHelpers {
		t.Skip("every reader is a leader here")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))) // a helper at least
	var n atomic.Int32
	var settled atomic.Bool
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	s, phone := burstServer(t, "127.0.0.1:0", func() {
		switch n.Add(1) {
		case 1: // the leader, with the first REGISTER
			<-release
		case 2: // a helper, with the second: the leader goes back to the socket
			free()
			deadline := time.Now().Add(2 * time.Second)
			for !readerInNetpoller() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			settled.Store(readerInNetpoller())
		}
	})
	t.Cleanup(free) // before the server's Close (cleanups run last first), which waits for the readers
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bKstuck1", 1, ""))
	for n.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bKstuck2", 2, ""))
	seen := map[string]bool{}
	for len(seen) < 2 {
		raw := recvRaw(t, phone, 3*time.Second)
		if raw == nil {
			t.Fatalf("answered %v of two; the front's readers:\n%s", seen, readerStacks())
		}
		_, rest, _ := strings.Cut(string(raw), "branch=")
		branch, _, _ := strings.Cut(rest, ";")
		seen[branch] = true
	}
	if !settled.Load() {
		t.Fatal("the interleaving was not forced: the leader did not come back to the netpoller")
	}
}

// TestFrontCallsAHelperWhenBehind: a leader that finds the socket never
// empty — every datagram takes it 2 ms here — calls a helper, and the
// helper reads and answers part of the burst.
func TestFrontCallsAHelperWhenBehind(t *testing.T) {
	if !sockHelpers {
		t.Skip("every reader is a leader here")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	var helped atomic.Int32
	s, phone := burstServer(t, "127.0.0.1:0", func() {
		buf := make([]byte, 4096)
		if strings.Contains(string(buf[:runtime.Stack(buf, false)]), "(*udpFront).help(") {
			helped.Add(1)
			return
		}
		time.Sleep(2 * time.Millisecond) // the leader is slow (< watchAfter: not the watchdog)
	})
	const n = 40
	for i := range n {
		sendTo(t, phone, s, frontRegister(phone, "z9hG4bKbehind"+itoa(i), i+1, ""))
	}
	for i := range n {
		if recvRaw(t, phone, 5*time.Second) == nil {
			t.Fatalf("%d of %d answered; the front's readers:\n%s", i, n, readerStacks())
		}
	}
	if helped.Load() == 0 {
		t.Fatal("no helper read any of the burst")
	}
}

// readerInNetpoller: a UDP front reader waits in the netpoller.
func readerInNetpoller() bool {
	for _, g := range strings.Split(allStacks(), "\n\n") {
		if strings.Contains(g, "(*udpFront).read(") && strings.Contains(g, "waitRead") {
			return true
		}
	}
	return false
}

// readerStacks returns the stacks of the UDP front's goroutines, to show
// where a reader waits when an answer is missing.
func readerStacks() string {
	var out []string
	for _, g := range strings.Split(allStacks(), "\n\n") {
		if strings.Contains(g, "(*udpFront).") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
