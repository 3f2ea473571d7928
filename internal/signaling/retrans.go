package signaling

import (
	"encoding/binary"
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
// whole: a generation holding half of it is rotated out early, and past
// the budget the oldest generation goes early (retransmissions that late
// are then answered anew), never the node's memory. A dropped generation's
// chunks are kept for the next ones (at most the budget again, and no more
// than the last tick's period took). Before session 12, at 16,000
// REGISTER/s, the cache took 18 MB/s of new memory and its current
// generation ran past the budget (the live heap climbed from 33 to 120 MB
// between ticks, gctrace), a sawtooth of fresh pages: page faults and
// zeroing were 5 % and 2 % of the server's CPU by perf, part of them this
// cache's; since, the live heap stays at ≈ 92 MB. An answer handed out is
// a copy (begin, get): a chunk may be reused once the shard's lock is
// released.
//
// The cache holds no pointers per entry: a shard is one index from the
// key's 64-bit hash to a record (its hash, key and answer) appended to a
// few large byte chunks of the record's generation. (An index per
// generation, as before session 8, cost five map probes to find a request
// new — every one of them: ≈ 5 % of a registration's CPU.) Dropping a
// generation walks its records and unindexes those still indexed there. At 2,000 REGISTER/s it holds 160,000 answers (40 s × two
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
	replayHeader     = 14        // a record: hash (8 bytes), key length (2), answer length (4), key, answer
	replayUnanswered = 1<<32 - 1 // the answer length of a pending record
)

type replayShard struct {
	mu    sync.Mutex
	index map[uint64]uint64 // key hash → record: generation << 61 | chunk << 32 | offset
	gens  [replayGenerations]replayGen
	cur   int
	spare chunkPool
	_     [64]byte // keep shards on their own cache lines
}

// chunkPool holds the emptied chunks of a shard's dropped generations for
// its next ones.
type chunkPool struct {
	free  [][]byte
	bytes int // capacity of free
	taken int // chunks taken since the last tick
}

// get returns an empty chunk with room for need bytes: a kept one when
// there is one, else a new one of size bytes (or need, if more).
func (p *chunkPool) get(size, need int) []byte {
	if n := len(p.free) - 1; n >= 0 && cap(p.free[n]) >= need {
		c := p.free[n]
		p.free[n] = nil
		p.free = p.free[:n]
		p.bytes -= cap(c)
		p.taken++
		return c[:0]
	}
	return make([]byte, 0, max(size, need))
}

// put keeps c for reuse within limit bytes; a chunk bigger than
// replayChunkMax (one record's own) is left to the collector.
func (p *chunkPool) put(c []byte, limit int) {
	if cap(c) > replayChunkMax || p.bytes+cap(c) > limit {
		return
	}
	p.free = append(p.free, c)
	p.bytes += cap(c)
}

// tick keeps no more chunks than the period since the last tick took: an
// idle cache gives its memory back.
func (p *chunkPool) tick() {
	for len(p.free) > p.taken {
		n := len(p.free) - 1
		p.bytes -= cap(p.free[n])
		p.free[n] = nil
		p.free = p.free[:n]
	}
	p.taken = 0
}

// replayGen is one generation of a shard: its records, appended to chunks.
type replayGen struct {
	chunks [][]byte
	bytes  int // of the records
	n      int // records indexed here (len)
}

// recordAt packs a record's place for the index.
func recordAt(gen, chunk, off int) uint64 {
	return uint64(gen)<<61 | uint64(chunk)<<32 | uint64(off)
}

func recordPlace(pos uint64) (gen, chunk, off int) {
	return int(pos >> 61), int(pos >> 32 & (1<<29 - 1)), int(uint32(pos))
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
		c.shards[i].index = map[uint64]uint64{}
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

// begin looks key up; when it is new it is recorded as pending. An answer
// is appended to dst.
func (c *replayCache) begin(key string, dst []byte) ([]byte, replayState) {
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if pos, indexed := sh.index[h]; indexed { // one probe, then one store when new
		g, chunk, off := recordPlace(pos)
		if answer, answered, ok := sh.gens[g].record(chunk, off, key); ok {
			if answered {
				return append(dst, answer...), replayAnswer
			}
			return nil, replayPending
		}
		sh.gens[g].n-- // another key with the same hash: replaced below
	}
	sh.insert(h, key, nil, nil)
	return nil, replayNew
}

// finish records the final response of key (the cache copies b).
func (c *replayCache) finish(key string, b []byte) { c.finishParts(key, b, nil) }

// finishParts records head followed by body as key's answer (copied, in
// one record: no buffer to join them first).
func (c *replayCache) finishParts(key string, head, body []byte) {
	if head == nil {
		head = []byte{} // answered, even when empty: nil is pending
	}
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// Into the current generation: it lives from its answer (the pending
	// record left behind is no longer indexed).
	sh.add(h, key, head, body)
	if sh.gens[sh.cur].bytes > c.budget/2 {
		sh.rotate(c.budget) // a generation is at most half the budget
	}
	for sh.total() > c.budget && sh.dropOldest(c.budget) {
	}
}

// get appends key's answer to dst when it has one; it records nothing.
func (c *replayCache) get(key string, dst []byte) ([]byte, bool) {
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	g, answer, answered := sh.find(h, key)
	if g < 0 || !answered {
		return dst, false
	}
	return append(dst, answer...), true
}

// has says whether key has an answer, without copying it.
func (c *replayCache) has(key string) bool {
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	g, _, answered := sh.find(h, key)
	return g >= 0 && answered
}

// abandon forgets a pending key the handler did not answer (a dropped
// request): its retransmissions are handled anew.
func (c *replayCache) abandon(key string) {
	h := c.hash(key)
	sh := &c.shards[h%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if g, _, answered := sh.find(h, key); g >= 0 && !answered {
		sh.unindex(h)
	}
}

// tick drops the oldest generation of every shard.
func (c *replayCache) tick() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.rotate(c.budget)
		sh.spare.tick()
		sh.mu.Unlock()
	}
}

// len counts the entries (tests, metrics).
func (c *replayCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.index)
		sh.mu.Unlock()
	}
	return n
}

// find returns the generation holding key (hash h), or -1; with its answer
// and true when it has one, false while it is pending.
func (sh *replayShard) find(h uint64, key string) (int, []byte, bool) {
	pos, found := sh.index[h]
	if !found {
		return -1, nil, false
	}
	g, chunk, off := recordPlace(pos)
	answer, answered, ok := sh.gens[g].record(chunk, off, key)
	if !ok {
		return -1, nil, false // another key with the same hash
	}
	return g, answer, answered
}

// add appends the record of key (hash h) to the current generation, with
// its answer (head, then body), or pending when head is nil, and indexes
// it there; a key of the same hash is replaced. One probe of the index
// and one store: no delete first.
func (sh *replayShard) add(h uint64, key string, head, body []byte) {
	if pos, ok := sh.index[h]; ok {
		g, _, _ := recordPlace(pos)
		sh.gens[g].n--
	}
	sh.insert(h, key, head, body)
}

// insert appends and indexes the record of key (hash h), which the index
// does not hold (or holds unaccounted: add, begin).
func (sh *replayShard) insert(h uint64, key string, head, body []byte) {
	chunk, off := sh.gens[sh.cur].add(h, key, head, body, &sh.spare)
	sh.index[h] = recordAt(sh.cur, chunk, off)
	sh.gens[sh.cur].n++
}

// unindex forgets the record indexed under h, if any.
func (sh *replayShard) unindex(h uint64) {
	if pos, ok := sh.index[h]; ok {
		g, _, _ := recordPlace(pos)
		sh.gens[g].n--
		delete(sh.index, h)
	}
}

func (sh *replayShard) rotate(budget int) {
	sh.cur = (sh.cur + 1) % replayGenerations
	sh.drop(sh.cur, budget)
}

// drop empties generation g: its records still indexed are unindexed, its
// chunks are kept for reuse (within the budget).
func (sh *replayShard) drop(g, budget int) {
	gen := &sh.gens[g]
	for ci, c := range gen.chunks {
		for off := 0; off+replayHeader <= len(c); {
			h := binary.BigEndian.Uint64(c[off:])
			klen := int(binary.BigEndian.Uint16(c[off+8:]))
			alen := binary.BigEndian.Uint32(c[off+10:])
			if pos, ok := sh.index[h]; ok && pos == recordAt(g, ci, off) {
				delete(sh.index, h)
			}
			off += replayHeader + klen
			if alen != replayUnanswered {
				off += int(alen)
			}
		}
		sh.spare.put(c, budget)
		gen.chunks[ci] = nil
	}
	*gen = replayGen{chunks: gen.chunks[:0]}
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
func (sh *replayShard) dropOldest(budget int) bool {
	for i := replayGenerations - 1; i >= 1; i-- {
		g := (sh.cur - i + replayGenerations) % replayGenerations
		if sh.gens[g].n > 0 {
			sh.drop(g, budget)
			return true
		}
	}
	return false
}

// add appends the record of key (hash h) with its answer, head then body
// (head nil: pending), and returns where: chunk and offset.
func (g *replayGen) add(h uint64, key string, head, body []byte, spare *chunkPool) (chunk, off int) {
	if len(key) > 1<<16-1 {
		key = key[:1<<16-1] // never: keys are a method, a branch and an address
	}
	alen := uint32(replayUnanswered)
	if head != nil {
		alen = uint32(len(head) + len(body))
	}
	need := replayHeader + len(key) + len(head) + len(body)
	n := len(g.chunks) - 1
	if n < 0 || cap(g.chunks[n])-len(g.chunks[n]) < need {
		size := replayChunkMin
		if n >= 0 {
			size = min(2*cap(g.chunks[n]), replayChunkMax)
		}
		g.chunks = append(g.chunks, spare.get(size, need))
		n++
	}
	c := g.chunks[n]
	off = len(c)
	c = binary.BigEndian.AppendUint64(c, h)
	c = binary.BigEndian.AppendUint16(c, uint16(len(key)))
	c = binary.BigEndian.AppendUint32(c, alen)
	c = append(c, key...)
	c = append(c, head...)
	c = append(c, body...)
	g.chunks[n] = c
	g.bytes += need
	return n, off
}

// record reads the record at chunk and offset if it is key's: its answer
// and true, or nil and false while it is pending; ok false when the record
// is another key's (same hash).
func (g *replayGen) record(chunk, off int, key string) (answer []byte, answered, ok bool) {
	c := g.chunks[chunk]
	klen := int(binary.BigEndian.Uint16(c[off+8:]))
	alen := binary.BigEndian.Uint32(c[off+10:])
	rec := c[off+replayHeader:]
	if string(rec[:klen]) != key[:min(len(key), 1<<16-1)] {
		return nil, false, false
	}
	if alen == replayUnanswered {
		return nil, false, true
	}
	end := klen + int(alen)
	return rec[klen:end:end], true, true
}
