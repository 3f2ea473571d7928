package signaling

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// leg is a dialog we are a party of; in-dialog requests are routed to it by
// Call-ID (each leg has its own Call-ID: the caller's, or one we made).
type leg interface {
	onAck(req *sip.Request)
	onBye(req *sip.Request, tx sip.ServerTransaction)
	onReInvite(req *sip.Request, tx sip.ServerTransaction)
	onUpdate(req *sip.Request, tx sip.ServerTransaction) // session refresh (timers.go)
}

const shards = 64

type dialogTable struct {
	shard [shards]struct {
		mu sync.RWMutex
		m  map[string]leg
	}
}

func (t *dialogTable) init() {
	for i := range t.shard {
		t.shard[i].m = make(map[string]leg)
	}
}

func (t *dialogTable) idx(callID string) int {
	var h uint32 = 2166136261
	for i := 0; i < len(callID); i++ {
		h = (h ^ uint32(callID[i])) * 16777619
	}
	return int(h % shards)
}

func (t *dialogTable) put(callID string, l leg) {
	s := &t.shard[t.idx(callID)]
	s.mu.Lock()
	s.m[callID] = l
	s.mu.Unlock()
}

func (t *dialogTable) get(callID string) (leg, bool) {
	s := &t.shard[t.idx(callID)]
	s.mu.RLock()
	l, ok := s.m[callID]
	s.mu.RUnlock()
	return l, ok
}

func (t *dialogTable) del(callID string, l leg) {
	s := &t.shard[t.idx(callID)]
	s.mu.Lock()
	if s.m[callID] == l {
		delete(s.m, callID)
	}
	s.mu.Unlock()
}

// Len is the number of dialogs tracked (leak checks, metrics).
func (t *dialogTable) Len() int {
	n := 0
	for i := range t.shard {
		t.shard[i].mu.RLock()
		n += len(t.shard[i].m)
		t.shard[i].mu.RUnlock()
	}
	return n
}

// Dialogs is the number of SIP dialogs (legs) in progress.
func (s *Server) Dialogs() int { return s.dialogs.Len() }

func callIDOf(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return string(*h)
	}
	return ""
}

func (s *Server) handleAck(req *sip.Request, _ sip.ServerTransaction) {
	if l, ok := s.dialogs.get(callIDOf(req)); ok {
		l.onAck(req)
	}
}

func (s *Server) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	l, ok := s.dialogs.get(callIDOf(req))
	if !ok {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	l.onBye(req, tx)
}

func (s *Server) handleCancel(req *sip.Request, tx sip.ServerTransaction) {
	// A CANCEL matching a pending INVITE is absorbed by the transaction
	// layer (200 + 487); one that reaches us matches nothing.
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) handleInDialogPassThrough(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := s.dialogs.get(callIDOf(req)); !ok {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.respond(req, tx, 200, "OK")
}

func (s *Server) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	l, ok := s.dialogs.get(callIDOf(req))
	if !ok {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	// Media changes are made with re-INVITE; UPDATE only refreshes.
	l.onUpdate(req, tx)
}
