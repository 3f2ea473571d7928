package signaling

import (
	"hash/maphash"
	"sync"
	"time"
)

// replayCache is the transaction state of the requests the UDP front
// answers without a sipgo transaction (udpfront.go): per request — method,
// Via branch and source address — the bytes of its final response, kept
// for at least Timer J (64·T1 = 32 s over UDP, RFC 3261 §17.2.2). A
// retransmission gets those very bytes again, so the handler never runs
// twice for one transaction (a second 401 would carry another nonce and
// To-tag; a second REGISTER with the same CSeq would fail as out of
// order). While the handler is at work the entry is pending and
// retransmissions are absorbed (the Trying state).
//
// Entries live in a ring of generations: every tick the oldest is dropped,
// so an entry lives between keep and keep+tick. A memory budget bounds the
// whole: past it the oldest generation goes early (retransmissions that
// late are then answered anew), never the node's memory.
//
// The cache holds no pointers per entry: a generation is an index from the
// key's 64-bit hash to a record (key and answer) appended to a few large
// byte chunks. At 2,000 REGISTER/s it holds 160,000 answers (40 s × two
// requests a registration) — most of the heap — and as a map of strings
// to slices each of them was three objects the garbage collector marked
// in every cycle (gctrace: 40-60 ms mark phases every 2-3 s, with the
// readers' longest scheduling delays inside them); pointer-free, the
// collector skips it. A record is found by hash and then compared by key,
// so two keys with the same hash never share an answer.
type replayCache struct {
	seed   maphash.Seed
	shards [replayShards]replayShard
	budget int // bytes per shard
}

const (
	replayShards      = 16
	replayGenerations = 5 // keep = (replayGenerations-1) × tick

	replayChunkMin   = 4 << 10   // first chunk of a generation; each next one doubles...
	replayChunkMax   = 64 << 10  // ...up to this (a bigger record gets a chunk of its own size)
	replayHeader     = 6         // a record: key length (2 bytes), answer length (4), key, answer
	replayUnanswered = 1<<32 - 1 // the answer length of a pending record
)

type replayShard struct {
	mu   sync.Mutex
	gens [replayGenerations]replayGen
	cur  int
	_    [64]byte // keep shards on their own cache lines
}

// replayGen is one generation of a shard: records appended to chunks, and
// the index from key hash to record (chunk number << 32 | offset).
type replayGen struct {
	index  map[uint64]uint64
	chunks [][]byte
	bytes  int // of the records
}

// replayState is what begin found.
type replayState int

const (
	replayNew     replayState = iota // not seen: the caller handles it (now pending)
	replayPending                    // being handled: drop the retransmission
	replayAnswer                     // answered: resend the bytes begin returned
)

// newReplayCache keeps entries at least keep, within budget bytes in all.
func newReplayCache(budget int) *replayCache {
	c := &replayCache{seed: maphash.MakeSeed(), budget: budget / replayShards}
	for i := range c.shards {
		for g := range c.shards[i].gens {
			c.shards[i].gens[g].reset()
		}
	}
	return c
}

// replayTick is the rotation period that keeps entries at least keep.
func replayTick(keep time.Duration) time.Duration {
	return keep / (replayGenerations - 1)
}

func (c *replayCache) hash(key string) uint64 { return maphash.String(c.seed, key) }

func (c *replayCache) shard(key string) *replayShard {
	return &c.shards[c.hash(key)%replayShards]
}

// begin looks key up; when it is new it is recorded as pending.
func (c *replayCache) begin(key string) ([]byte, replayState) {
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if g, answer, ok := sh.find(h, key); g >= 0 {
		if ok {
			return answer, replayAnswer
		}
		return nil, replayPending
	}
	sh.gens[sh.cur].add(h, key, nil)
	return nil, replayNew
}

// finish records the final response of key (the cache copies b).
func (c *replayCache) finish(key string, b []byte) {
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if g, _, _ := sh.find(h, key); g >= 0 {
		delete(sh.gens[g].index, h) // move to the current generation: it lives from its answer
	}
	sh.gens[sh.cur].add(h, key, b)
	for sh.total() > c.budget && sh.dropOldest() {
	}
}

// abandon forgets a pending key the handler did not answer (a dropped
// request): its retransmissions are handled anew.
func (c *replayCache) abandon(key string) {
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if g, _, answered := sh.find(h, key); g >= 0 && !answered {
		delete(sh.gens[g].index, h)
	}
}

// tick drops the oldest generation of every shard.
func (c *replayCache) tick() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.rotate()
		sh.mu.Unlock()
	}
}

// len counts the entries (tests, metrics).
func (c *replayCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for g := range sh.gens {
			n += len(sh.gens[g].index)
		}
		sh.mu.Unlock()
	}
	return n
}

// find returns the generation holding key (hash h), newest first, or -1;
// with its answer and true when it has one, false while it is pending.
func (sh *replayShard) find(h uint64, key string) (int, []byte, bool) {
	for i := 0; i < replayGenerations; i++ {
		g := (sh.cur - i + replayGenerations) % replayGenerations
		if answer, answered, ok := sh.gens[g].get(h, key); ok {
			return g, answer, answered
		}
	}
	return -1, nil, false
}

func (sh *replayShard) rotate() {
	sh.cur = (sh.cur + 1) % replayGenerations
	sh.gens[sh.cur].reset()
}

func (sh *replayShard) total() int {
	t := 0
	for g := range sh.gens {
		t += sh.gens[g].bytes
	}
	return t
}

// dropOldest empties the oldest generation that holds entries, never the
// current one; false when there is none.
func (sh *replayShard) dropOldest() bool {
	for i := replayGenerations - 1; i >= 1; i-- {
		g := (sh.cur - i + replayGenerations) % replayGenerations
		if len(sh.gens[g].index) > 0 {
			sh.gens[g].reset()
			return true
		}
	}
	return false
}

// reset empties the generation (its memory goes to the garbage collector).
func (g *replayGen) reset() {
	if g.index == nil || len(g.index) > 0 {
		g.index = map[uint64]uint64{}
	}
	g.chunks = nil
	g.bytes = 0
}

// add appends the record of key (hash h) with its answer, or pending when
// answer is nil, and indexes it; a key of the same hash is replaced.
func (g *replayGen) add(h uint64, key string, answer []byte) {
	if len(key) > 1<<16-1 {
		key = key[:1<<16-1] // never: keys are a method, a branch and an address
	}
	alen := uint32(replayUnanswered)
	if answer != nil {
		alen = uint32(len(answer))
	}
	need := replayHeader + len(key) + len(answer)
	n := len(g.chunks) - 1
	if n < 0 || cap(g.chunks[n])-len(g.chunks[n]) < need {
		size := replayChunkMin
		if n >= 0 {
			size = min(2*cap(g.chunks[n]), replayChunkMax)
		}
		g.chunks = append(g.chunks, make([]byte, 0, max(size, need)))
		n++
	}
	c := g.chunks[n]
	off := len(c)
	c = append(c, byte(len(key)>>8), byte(len(key)), byte(alen>>24), byte(alen>>16), byte(alen>>8), byte(alen))
	c = append(c, key...)
	c = append(c, answer...)
	g.chunks[n] = c
	g.index[h] = uint64(n)<<32 | uint64(off)
	g.bytes += need
}

// get finds key (hash h): its answer and true, or nil and false while it
// is pending; ok false when the generation does not hold it.
func (g *replayGen) get(h uint64, key string) (answer []byte, answered, ok bool) {
	pos, found := g.index[h]
	if !found {
		return nil, false, false
	}
	c := g.chunks[pos>>32]
	off := int(uint32(pos))
	klen := int(c[off])<<8 | int(c[off+1])
	alen := uint32(c[off+2])<<24 | uint32(c[off+3])<<16 | uint32(c[off+4])<<8 | uint32(c[off+5])
	rec := c[off+replayHeader:]
	if string(rec[:klen]) != key[:min(len(key), 1<<16-1)] {
		return nil, false, false // another key with the same hash
	}
	if alen == replayUnanswered {
		return nil, false, true
	}
	end := klen + int(alen)
	return rec[klen:end:end], true, true
}
