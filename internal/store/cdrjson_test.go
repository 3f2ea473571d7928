package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestAppendCDRJSONMatchesEncoder: appendCDRJSON writes encoding/json's
// bytes for CDRs with every field set or empty, and strings of every kind
// json escapes (quotes, backslashes, control characters, HTML characters,
// U+2028/9, invalid UTF-8, multi-byte runes).
func TestAppendCDRJSONMatchesEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	pieces := []string{"", "a", "sip:alice@contoso.com", `"`, `\`, "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f",
		"\x7f", "<", ">", "&", "\u2028", "\u2029", "é", "日本", "\xff", "\xc3", "😀", " ", "+4930123456"}
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(5) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return sb.String()
	}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 3600), time.FixedZone("y", -5*3600-1800), time.Local}
	tm := func() time.Time {
		return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])
	}
	for i := range 20000 {
		c := pbx.CDR{ID: rng.Int64N(1e6) - 10, CallID: str(), Tenant: str(), Caller: str(), Callee: str(), Dialed: str(),
			Start: tm(), End: tm(), Duration: rng.Int64N(1e5), Result: pbx.CallResult(str()), Cause: rng.IntN(700) - 1,
			HangupBy: pbx.Party(str()), EndReason: str(), Emergency: rng.IntN(2) == 0, Via: str()}
		if rng.IntN(2) == 0 {
			a := tm()
			c.Answer = &a
		}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(&c); err != nil {
			t.Fatal(err)
		}
		got, ok := appendCDRJSON(nil, &c)
		if !ok || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("CDR %d: ok %v\n got %s\nwant %s", i, ok, got, want.Bytes())
		}
	}
	// A year json refuses is left to it (which fails).
	c := pbx.CDR{Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, ok := appendCDRJSON(nil, &c); ok {
		t.Fatal("year 10000 encoded; json refuses it")
	}
}

func BenchmarkAppendCDRJSON(b *testing.B) {
	now := time.Now()
	c := pbx.CDR{CallID: "a84b4c76e66710@pc33.contoso.com", Tenant: "contoso", Caller: "alice@contoso.com",
		Callee: "bob@contoso.com", Dialed: "+4930123456", Start: now, Answer: &now, End: now, Duration: 12,
		Result: "answered", Cause: 200, HangupBy: "caller", Via: "directRouting"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendCDRJSON(buf[:0], &c)
	}
}
