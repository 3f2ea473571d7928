package signaling

import (
	"bytes"
	"strconv"
	"testing"
)

// TestReplayCacheRecords: answers of every size come back byte for byte
// across chunk boundaries (one bigger than a chunk included), pending keys
// stay pending, and an answer handed out cannot grow into the next record.
func TestReplayCacheRecords(t *testing.T) {
	c := newReplayCache(1 << 30)
	answer := func(i int) []byte {
		if i == 7 {
			return bytes.Repeat([]byte{'B'}, replayChunkMax+100)
		}
		return bytes.Repeat([]byte{byte('a' + i%26)}, i%700)
	}
	const n = 3000
	for i := range n {
		k := "REGISTER z9hG4bK" + strconv.Itoa(i) + " 127.0.0.1:5060"
		if _, st := c.begin(k); st != replayNew {
			t.Fatalf("%d: begin %v", i, st)
		}
		if i%3 != 0 {
			c.finish(k, answer(i))
		}
	}
	c.tick()
	for i := range n {
		k := "REGISTER z9hG4bK" + strconv.Itoa(i) + " 127.0.0.1:5060"
		b, st := c.begin(k)
		switch {
		case i%3 == 0 && st != replayPending:
			t.Fatalf("%d: pending key: %v", i, st)
		case i%3 != 0 && (st != replayAnswer || !bytes.Equal(b, answer(i))):
			t.Fatalf("%d: %v, %d bytes, want %d", i, st, len(b), len(answer(i)))
		case i%3 != 0 && cap(b) != len(b):
			t.Fatalf("%d: answer has room to grow into the cache (cap %d, len %d)", i, cap(b), len(b))
		}
	}
	if got := c.len(); got != n {
		t.Fatalf("len %d, want %d", got, n)
	}
}
