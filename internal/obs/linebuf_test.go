package obs

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuf) get() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

// Lines are batched into one write, arrive within the interval, in order,
// and Close writes what is left.
func TestLineBufferBatchesInOrder(t *testing.T) {
	dst := &syncBuf{}
	lb := NewLineBuffer(dst, 20*time.Millisecond)
	for i := range 100 {
		lb.Write([]byte(strings.Repeat("x", i%7) + "\n"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := dst.get(); strings.Count(got, "\n") == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lines not written within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, writes := dst.get(); writes > 10 {
		t.Errorf("%d writes for 100 lines, want them batched", writes)
	}
	lb.Write([]byte("last\n"))
	lb.Close()
	got, _ := dst.get()
	var want strings.Builder
	for i := range 100 {
		want.WriteString(strings.Repeat("x", i%7) + "\n")
	}
	want.WriteString("last\n")
	if got != want.String() {
		t.Errorf("lines out of order or lost:\n%q", got)
	}
	lb.Close() // twice is fine
}

// A Write that fills maxPending flushes by itself, without waiting.
func TestLineBufferFlushesWhenFull(t *testing.T) {
	dst := &syncBuf{}
	lb := NewLineBuffer(dst, time.Hour)
	defer lb.Close()
	line := []byte(strings.Repeat("y", 1023) + "\n")
	for range maxPending / len(line) {
		lb.Write(line)
	}
	if got, _ := dst.get(); len(got) < maxPending {
		t.Errorf("%d bytes written after %d pending, want a flush", len(got), maxPending)
	}
}

// Concurrent writers (slog handlers write whole records) never interleave.
func TestLineBufferConcurrentWriters(t *testing.T) {
	dst := &syncBuf{}
	lb := NewLineBuffer(dst, time.Millisecond)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 500 {
				lb.Write([]byte(strings.Repeat(string(rune('a'+w)), 50) + "\n"))
			}
		})
	}
	wg.Wait()
	lb.Close()
	got, _ := dst.get()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2000 {
		t.Fatalf("%d lines, want 2000", len(lines))
	}
	for _, l := range lines {
		if len(l) != 50 || strings.Trim(l, l[:1]) != "" {
			t.Fatalf("interleaved line %q", l)
		}
	}
}
