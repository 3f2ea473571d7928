package store

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// What the REGISTER path and the call loop pay now: queue a binding change;
// journal and queue a CDR (one JSON encoding, one write system call).

func BenchmarkBindingWriterSave(b *testing.B) {
	w := NewBindingWriter(newMem(), 10*time.Millisecond, nil)
	defer w.Close(context.Background())
	bd := pbx.Binding{AOR: "u00001@bench1.example.com", Contact: "sip:u00001@127.0.0.1:5072",
		Source: "127.0.0.1:5072", Transport: "udp", Expires: time.Now().Add(time.Hour), CallID: "1@h", CSeq: 2}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = w.SaveBinding(ctx, bd)
	}
}

func BenchmarkCDRWriterRecord(b *testing.B) {
	w, err := OpenCDRWriter(context.Background(), newMem(), b.TempDir(), 10*time.Millisecond, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(context.Background())
	start := time.Now()
	answer := start.Add(2 * time.Second)
	c := pbx.CDR{CallID: "1-1234@127.0.0.1", Tenant: "bench1", Caller: "u00001@bench1.example.com",
		Callee: "uas@bench1.example.com", Dialed: "9000", Start: start, Answer: &answer,
		End: start.Add(time.Minute), Duration: 58, Result: pbx.ResultAnswered, Cause: 200, HangupBy: pbx.PartyCaller}
	b.ReportAllocs()
	for b.Loop() {
		w.Record(c)
	}
}
