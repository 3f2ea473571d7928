package registrar

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// benchStore accepts every write and keeps nothing: the registrar's own cost.
type benchStore struct{}

func (benchStore) SaveBinding(context.Context, pbx.Binding) error      { return nil }
func (benchStore) DeleteBinding(context.Context, string, string) error { return nil }
func (benchStore) Bindings(context.Context) ([]pbx.Binding, error)     { return nil, nil }

const benchAORs = 10000

func benchAOR(i int) string { return fmt.Sprintf("u%05d@bench1.example.com", i%benchAORs+1) }

// benchRegistrar holds benchAORs registered AORs, one contact each.
func benchRegistrar(b *testing.B) *Service {
	b.Helper()
	s := New(benchStore{}, Config{}, nil, nil)
	for i := range benchAORs {
		if _, err := s.Register(context.Background(), benchRequest(i, 1)); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchRequest is a refresh as SIPp sends it: a new Call-ID each time, the
// same contact URI.
func benchRequest(i int, seq uint32) Request {
	aor := benchAOR(i)
	return Request{AOR: aor, Expires: 3600, CallID: fmt.Sprintf("%d-%d@127.0.0.1", i, seq), CSeq: 2,
		Source: "127.0.0.1:5072", Transport: "udp", UserAgent: "SIPp",
		Contacts: []Contact{{URI: "sip:" + aor[:6] + "@127.0.0.1:5072;transport=UDP", Expires: -1}}}
}

// BenchmarkRegister is a refresh of one of 10,000 registered AORs.
func BenchmarkRegister(b *testing.B) {
	s := benchRegistrar(b)
	reqs := make([]Request, 1024)
	for i := range reqs {
		reqs[i] = benchRequest(i*7, 2)
	}
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		r := reqs[i%len(reqs)]
		r.CSeq = uint32(i + 3)
		if _, err := s.Register(ctx, r); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRegisterParallel shows contention: every Register takes the
// key-lock table's mutex twice and the map's write lock once.
func BenchmarkRegisterParallel(b *testing.B) {
	s := benchRegistrar(b)
	reqs := make([]Request, 1<<16)
	for i := range reqs {
		reqs[i] = benchRequest(i, 0)
		reqs[i].CallID = "p" + reqs[i].CallID
	}
	var n atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := reqs[int(i)%len(reqs)]
			r.CSeq = uint32(i + 3)
			if _, err := s.Register(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLookup is the callee lookup of every call.
func BenchmarkLookup(b *testing.B) {
	s := benchRegistrar(b)
	aors := make([]string, 1024)
	for i := range aors {
		aors[i] = benchAOR(i * 7)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Lookup(aors[i%len(aors)])) != 1 {
			b.Fatal("want one binding")
		}
		i++
	}
}

// BenchmarkBindingMemory reports the live heap the registrar holds per
// binding (B/binding) for 10,000 AORs with one contact each, after a GC.
func BenchmarkBindingMemory(b *testing.B) {
	var per float64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		s := benchRegistrar(b)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		per = float64(m1.HeapAlloc-m0.HeapAlloc) / benchAORs
		runtime.KeepAlive(s)
	}
	b.ReportMetric(per, "B/binding")
}
