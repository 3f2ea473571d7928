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
type replayCache struct {
	seed   maphash.Seed
	shards [replayShards]replayShard
	budget int // bytes per shard
}

const (
	replayShards      = 16
	replayGenerations = 5 // keep = (replayGenerations-1) × tick
)

type replayShard struct {
	mu    sync.Mutex
	gens  [replayGenerations]map[string][]byte // nil value: the handler is still at work
	cur   int
	bytes [replayGenerations]int
	_     [64]byte // keep shards on their own cache lines
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
			c.shards[i].gens[g] = map[string][]byte{}
		}
	}
	return c
}

// replayTick is the rotation period that keeps entries at least keep.
func replayTick(keep time.Duration) time.Duration {
	return keep / (replayGenerations - 1)
}

func (c *replayCache) shard(key string) *replayShard {
	return &c.shards[maphash.String(c.seed, key)%replayShards]
}

// begin looks key up; when it is new it is recorded as pending.
func (c *replayCache) begin(key string) ([]byte, replayState) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if g := sh.find(key); g >= 0 {
		if b := sh.gens[g][key]; b != nil {
			return b, replayAnswer
		}
		return nil, replayPending
	}
	sh.gens[sh.cur][key] = nil
	sh.bytes[sh.cur] += len(key)
	return nil, replayNew
}

// finish records the final response of key (the cache keeps b).
func (c *replayCache) finish(key string, b []byte) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if g := sh.find(key); g >= 0 {
		delete(sh.gens[g], key) // move to the current generation: it lives from its answer
		sh.bytes[g] -= len(key)
	}
	sh.gens[sh.cur][key] = b
	sh.bytes[sh.cur] += len(key) + len(b)
	for sh.total() > c.budget && sh.dropOldest() {
	}
}

// abandon forgets a pending key the handler did not answer (a dropped
// request): its retransmissions are handled anew.
func (c *replayCache) abandon(key string) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for g := range sh.gens {
		if b, ok := sh.gens[g][key]; ok && b == nil {
			delete(sh.gens[g], key)
			sh.bytes[g] -= len(key)
		}
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
		for _, g := range sh.gens {
			n += len(g)
		}
		sh.mu.Unlock()
	}
	return n
}

// find returns the generation holding key, newest first, or -1.
func (sh *replayShard) find(key string) int {
	for i := 0; i < replayGenerations; i++ {
		g := (sh.cur - i + replayGenerations) % replayGenerations
		if _, ok := sh.gens[g][key]; ok {
			return g
		}
	}
	return -1
}

func (sh *replayShard) rotate() {
	sh.cur = (sh.cur + 1) % replayGenerations
	if len(sh.gens[sh.cur]) > 0 {
		sh.gens[sh.cur] = map[string][]byte{}
	}
	sh.bytes[sh.cur] = 0
}

func (sh *replayShard) total() int {
	t := 0
	for _, b := range sh.bytes {
		t += b
	}
	return t
}

// dropOldest empties the oldest generation that holds entries, never the
// current one; false when there is none.
func (sh *replayShard) dropOldest() bool {
	for i := replayGenerations - 1; i >= 1; i-- {
		g := (sh.cur - i + replayGenerations) % replayGenerations
		if len(sh.gens[g]) > 0 {
			sh.gens[g] = map[string][]byte{}
			sh.bytes[g] = 0
			return true
		}
	}
	return false
}
