//go:build linux

package signaling

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestFrontShedsWhenItsBufferFills: with its readers held, the front's
// socket fills (keep-alive padding, an INVITE in the middle); let go, the
// readers find the buffer more than half full, refuse the INVITE with 503,
// and take new calls again once they have caught up.
func TestFrontShedsWhenItsBufferFills(t *testing.T) {
	var hold atomic.Bool
	var held atomic.Int32
	hold.Store(true)
	s, phone := burstServer(t, "127.0.0.1:0", func() {
		if hold.Load() {
			held.Add(1)
			for hold.Load() {
				time.Sleep(time.Millisecond)
			}
		}
	})
	defer hold.Store(false)
	pad := string(bytes.Repeat([]byte("\r\n"), 500)) // dropped as a keep-alive once read
	readers := runtime.GOMAXPROCS(0)
	for range readers {
		sendTo(t, phone, s, pad)
	}
	for deadline := time.Now().Add(5 * time.Second); held.Load() < int32(readers); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d readers held", held.Load(), readers)
		}
	}
	fill := func() int {
		v := -1
		_ = s.udp.sock.rc.Control(func(fd uintptr) { v = bufferFill(fd) })
		return v
	}
	fillTo := func(permille int) {
		for i := 0; fill() < permille; i++ {
			if i > 100000 {
				t.Fatalf("the buffer does not fill: %d‰", fill())
			}
			sendTo(t, phone, s, pad)
		}
	}
	fillTo(shedAbove - 100)
	sendTo(t, phone, s, inviteMsg(phone, "INVITE", "z9hG4bK-full", ""))
	fillTo(shedAbove + 300) // below full: nothing dropped
	t.Logf("buffer %d‰ full", fill())
	hold.Store(false)

	res, raw := recvResponse(t, phone)
	if res.StatusCode != 503 {
		t.Fatalf("overloaded: want 503 to the INVITE, got %d:\n%s", res.StatusCode, raw)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.udp.load.shedding.Load() && time.Now().Before(deadline) {
		sendTo(t, phone, s, "\r\n") // a reading after the backlog
		time.Sleep(time.Millisecond)
	}
	if s.Overloaded() {
		t.Fatalf("still shedding with the buffer %d‰ full", fill())
	}
	sendTo(t, phone, s, inviteMsg(phone, "INVITE", "z9hG4bK-after", ""))
	for {
		res, raw := recvResponse(t, phone)
		if res.StatusCode == 503 && bytes.Contains(raw, []byte("z9hG4bK-full")) {
			continue // Timer G: the first 503 again, not ACKed here
		}
		if res.StatusCode != 401 && res.StatusCode != 407 {
			t.Fatalf("caught up: want the INVITE challenged, got %d:\n%s", res.StatusCode, raw)
		}
		break
	}
}
