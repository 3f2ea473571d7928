package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// The store calls on Switchboard's signalling hot path: SaveBinding on every
// REGISTER (the registrar writes through) and InsertCDR at the end of every
// call. Both go through the single writer connection.

func benchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// BenchmarkSaveBinding is a registration refresh: an upsert of one of 10,000
// existing rows.
func BenchmarkSaveBinding(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	bs := make([]pbx.Binding, 10000)
	for i := range bs {
		aor := fmt.Sprintf("u%05d@bench1.example.com", i+1)
		bs[i] = pbx.Binding{AOR: aor, Contact: "sip:" + aor[:6] + "@127.0.0.1:5072;transport=UDP",
			Source: "127.0.0.1:5072", Transport: "udp", Expires: time.Now().Add(time.Hour),
			CallID: fmt.Sprintf("%d@127.0.0.1", i), CSeq: 2, UserAgent: "SIPp"}
		if err := db.SaveBinding(ctx, bs[i]); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		bi := bs[(i*7)%len(bs)]
		bi.CSeq = uint32(i + 3)
		if err := db.SaveBinding(ctx, bi); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkInsertCDR is the record written when a call ends.
func BenchmarkInsertCDR(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	start := time.Now()
	answer := start.Add(2 * time.Second)
	c := pbx.CDR{CallID: "1-1234@127.0.0.1", Tenant: "bench1", Caller: "u00001@bench1.example.com",
		Callee: "uas@bench1.example.com", Dialed: "9000", Start: start, Answer: &answer,
		End: start.Add(time.Minute), Duration: 58, Result: pbx.ResultAnswered, Cause: 200, HangupBy: pbx.PartyCaller}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.InsertCDR(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteBindings is one write-behind batch of 100 refreshes (one
// transaction); ns/op / 100 is the database's cost per REGISTER now.
func BenchmarkWriteBindings(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	bs := make([]pbx.Binding, 100)
	for i := range bs {
		aor := fmt.Sprintf("u%05d@bench1.example.com", i+1)
		bs[i] = pbx.Binding{AOR: aor, Contact: "sip:" + aor[:6] + "@127.0.0.1:5072;transport=UDP",
			Source: "127.0.0.1:5072", Transport: "udp", Expires: time.Now().Add(time.Hour),
			CallID: fmt.Sprintf("%d@127.0.0.1", i), CSeq: 2, UserAgent: "SIPp"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := db.WriteBindings(ctx, bs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertCDRs is one write-behind batch of 100 CDRs, as the CDR
// writer's flush runs it: fresh Call-IDs each batch, under a context with
// a deadline. cpu-µs/cdr is the process's CPU time (all goroutines) per
// CDR.
func BenchmarkInsertCDRs(b *testing.B) {
	db := benchDB(b)
	start := time.Now()
	answer := start.Add(2 * time.Second)
	batches := make([][]pbx.CDR, 64)
	for j := range batches {
		batches[j] = make([]pbx.CDR, 100)
		for i := range batches[j] {
			batches[j][i] = pbx.CDR{CallID: fmt.Sprintf("%d-%d@127.0.0.1", i, j), Tenant: "bench1",
				Caller: "u00001@bench1.example.com", Callee: "+14255551234", Dialed: "4255551234",
				Start: start, Answer: &answer, End: start.Add(time.Minute), Duration: 58,
				Result: pbx.ResultAnswered, Cause: 200, HangupBy: pbx.PartyCaller, Via: "directRouting"}
		}
	}
	n := 0
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := db.InsertCDRs(ctx, batches[n%len(batches)]); err != nil {
			b.Fatal(err)
		}
		cancel()
		n++
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(n*100)/1e3, "cpu-µs/cdr")
}
