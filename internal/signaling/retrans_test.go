package signaling

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
)

// TestReplayCacheRecords: answers of every size come back byte for byte
// across chunk boundaries (one bigger than a chunk included), pending keys
// stay pending, and an answer handed out is a copy (its chunk may be
// reused once the shard's lock is released).
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
		if _, st := c.begin(k, nil); st != replayNew {
			t.Fatalf("%d: begin %v", i, st)
		}
		if i%3 != 0 {
			c.finish(k, answer(i))
		}
	}
	c.tick()
	for i := range n {
		k := "REGISTER z9hG4bK" + strconv.Itoa(i) + " 127.0.0.1:5060"
		b, st := c.begin(k, nil)
		switch {
		case i%3 == 0 && st != replayPending:
			t.Fatalf("%d: pending key: %v", i, st)
		case i%3 != 0 && (st != replayAnswer || !bytes.Equal(b, answer(i))):
			t.Fatalf("%d: %v, %d bytes, want %d", i, st, len(b), len(answer(i)))
		}
		if i%3 != 0 && len(b) > 0 { // a copy: writing into it leaves the cache as it was
			b[0]++
			if again, _ := c.begin(k, nil); !bytes.Equal(again, answer(i)) {
				t.Fatalf("%d: the answer handed out is the cache's own bytes", i)
			}
		}
	}
	if got := c.len(); got != n {
		t.Fatalf("len %d, want %d", got, n)
	}
}

// TestReplayCacheLifetime: an entry lives replayGenerations-1 ticks at
// least and is gone after replayGenerations; an answer starts its life
// anew (finish); an abandoned pending key is new again; an answered one is
// not abandoned.
func TestReplayCacheLifetime(t *testing.T) {
	c := newReplayCache(1 << 30)
	c.begin("old", nil)
	for range replayGenerations - 2 {
		c.tick()
	}
	c.finish("old", []byte("answer")) // answered late: lives from now
	c.begin("pending", nil)
	c.begin("dropped", nil)
	c.abandon("dropped")
	if _, st := c.begin("dropped", nil); st != replayNew {
		t.Fatalf("abandoned key: %v, want new", st)
	}
	c.abandon("old") // answered: stays
	for i := range replayGenerations - 1 {
		if b, st := c.begin("old", nil); st != replayAnswer || string(b) != "answer" {
			t.Fatalf("after %d ticks: %v %q", i, st, b)
		}
		if _, st := c.begin("pending", nil); st != replayPending {
			t.Fatalf("pending after %d ticks: %v", i, st)
		}
		c.tick()
	}
	c.tick() // the replayGenerations-th
	if _, st := c.begin("old", nil); st != replayNew {
		t.Fatalf("after %d ticks: %v, want gone", replayGenerations, st)
	}
	if _, st := c.begin("pending", nil); st != replayNew {
		t.Fatalf("pending after %d ticks: %v, want gone", replayGenerations, st)
	}
	if n := c.len(); n != 2 { // old and pending, just begun anew; dropped aged out
		t.Fatalf("len %d, want 2", n)
	}
}

// TestReplayCacheBudget: past its budget the cache drops its oldest
// generations, never the current one, and what it keeps still answers.
func TestReplayCacheBudget(t *testing.T) {
	c := newReplayCache(replayShards * 64 << 10) // 64 KiB a shard
	answer := bytes.Repeat([]byte{'x'}, 1000)
	const n = 4000 // ≈ 4 MB of answers: far past the budget
	key := func(i int) string { return "INVITE z9hG4bK" + strconv.Itoa(i) + " 127.0.0.1:5060" }
	for i := range n {
		c.begin(key(i), nil)
		c.finish(key(i), answer)
		if i%500 == 499 {
			c.tick()
		}
	}
	if got := c.len(); got >= n || got == 0 {
		t.Fatalf("len %d: want some but not all of %d kept", got, n)
	}
	if b, st := c.begin(key(n-1), nil); st != replayAnswer || !bytes.Equal(b, answer) {
		t.Fatalf("newest: %v", st)
	}
	if _, st := c.begin(key(0), nil); st != replayNew {
		t.Fatalf("oldest kept past the budget: %v", st)
	}
}

// TestReplayCacheBoundedByBudget: records come far faster than ticks (a
// registration storm): a generation is rotated out at half the budget, so
// the records never pass the budget; the chunks of dropped generations are
// reused — no memory allocated once the cache has filled — and given back
// after a tick with no traffic.
func TestReplayCacheBoundedByBudget(t *testing.T) {
	const budget = 256 << 10 // a shard's; the cache's is 16 times this
	c := newReplayCache(replayShards * budget)
	answer := bytes.Repeat([]byte{'x'}, 480)
	keys := make([]string, 100000) // ≈ 53 MB of records, 13 times the budget, within one tick
	for i := range keys {
		keys[i] = "REGISTER z9hG4bK" + strconv.Itoa(i) + " 127.0.0.1:5060"
	}
	var before, after runtime.MemStats
	for i, k := range keys {
		if i == len(keys)/2 { // filled many times over: from here on, nothing new
			runtime.ReadMemStats(&before)
		}
		c.begin(k, nil)
		c.finish(k, answer)
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 50 { // the index maps may still grow a little
		t.Fatalf("%d allocations for %d records in a full cache: dropped chunks are not reused", n, len(keys)/2)
	}
	for s := range c.shards {
		if total := c.shards[s].total(); total > budget {
			t.Fatalf("shard %d holds %d bytes, budget %d", s, total, budget)
		}
	}
	if b, st := c.begin(keys[len(keys)-1], nil); st != replayAnswer || !bytes.Equal(b, answer) {
		t.Fatalf("newest: %v", st)
	}
	for range replayGenerations + 1 { // no traffic: records age out, spare chunks are given back
		c.tick()
	}
	for s := range c.shards {
		sh := &c.shards[s]
		if sh.total() != 0 || len(sh.spare.free) != 0 || sh.spare.bytes != 0 {
			t.Fatalf("shard %d of an idle cache keeps %d bytes of records, %d spare chunks (%d bytes)",
				s, sh.total(), len(sh.spare.free), sh.spare.bytes)
		}
	}
}

// TestReplayCacheMatchesModel runs random begins, answers, abandons and
// ticks against a plain map with ages: the cache answers as the model does.
func TestReplayCacheMatchesModel(t *testing.T) {
	type entry struct {
		answer   []byte
		answered bool
		age      int
	}
	c := newReplayCache(1 << 30)
	model := map[string]*entry{}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 200000 {
		k := "k" + strconv.Itoa(rng.IntN(300))
		switch op := rng.IntN(100); {
		case op < 50:
			b, st := c.begin(k, nil)
			e := model[k]
			want := replayNew
			if e != nil && e.answered {
				want = replayAnswer
			} else if e != nil {
				want = replayPending
			}
			if st != want || (want == replayAnswer && !bytes.Equal(b, e.answer)) {
				t.Fatalf("step %d: begin(%s) = %v %q, want %v", step, k, st, b, want)
			}
			if e == nil {
				model[k] = &entry{}
			}
		case op < 75:
			a := []byte(strconv.Itoa(step))
			c.finish(k, a)
			model[k] = &entry{answer: a, answered: true}
		case op < 90:
			c.abandon(k)
			if e := model[k]; e != nil && !e.answered {
				delete(model, k)
			}
		default:
			c.tick()
			for key, e := range model {
				if e.age++; e.age >= replayGenerations {
					delete(model, key)
				}
			}
		}
		if step%1000 == 0 && c.len() != len(model) {
			t.Fatalf("step %d: len %d, model %d", step, c.len(), len(model))
		}
		for i := range c.shards { // the generations' counts (dropOldest) agree with the index
			sh := &c.shards[i]
			n := 0
			for g := range sh.gens {
				n += sh.gens[g].n
			}
			if n != len(sh.index) {
				t.Fatalf("step %d: shard %d counts %d records in its generations, indexes %d", step, i, n, len(sh.index))
			}
		}
	}
}

// BenchmarkReplayCacheNewRequest: a request's way through the cache (new,
// then answered) with 200,000 entries spread over the generations, as at
// 6,000 REGISTER/s.
func BenchmarkReplayCacheNewRequest(b *testing.B) {
	c := newReplayCache(1 << 30)
	answer := bytes.Repeat([]byte{'a'}, 400)
	for i := range 200000 {
		k := "REGISTER z9hG4bKfill" + strconv.Itoa(i) + " 127.0.0.1:5060"
		c.begin(k, nil)
		c.finish(k, answer)
		if i%50000 == 49999 {
			c.tick()
		}
	}
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = "REGISTER z9hG4bKnew" + strconv.Itoa(i) + " 127.0.0.1:5060"
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		if _, st := c.begin(k, nil); st == replayNew {
			c.finish(k, answer)
		}
	}
}
