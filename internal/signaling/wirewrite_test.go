package signaling

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// sharedCorpus is a directory of the shared robustness corpus
// (../shared/testdata, or $SWITCHBOARD_TESTDATA); the test is skipped when
// it is not there.
func sharedCorpus(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "testdata", sub)
	if env := os.Getenv("SWITCHBOARD_TESTDATA"); env != "" {
		dir = filepath.Join(env, sub)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus not found: %v", err)
	}
	return dir
}

func sipgoBytes(m sip.Message) string {
	var b bytes.Buffer
	m.StringWrite(&b)
	return b.String()
}

func ourBytes(m sip.Message) string {
	var b bytes.Buffer
	writeMessage(&b, m)
	return b.String()
}

// builtMessages are messages as the server builds them, and some with
// what sipgo writes specially: IPv6 hosts (bracketed or not), display
// names, quoted parameter values, a wildcard Contact, a tel URI, URI
// headers and passwords, no headers at all, compact names.
func builtMessages() map[string]sip.Message {
	out := map[string]sip.Message{}
	target := sip.Uri{Scheme: "sip", User: "+15551234", Host: "sbc.example.com", Port: 5061,
		UriParams: sip.HeaderParams{{K: "transport", V: "tls"}, {K: "lr"}}}
	inv := sip.NewRequest(sip.INVITE, target)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "2001:db8::1",
		Port: 5060, Params: sip.NewParams()}
	via.Params.Add("branch", "z9hG4bK-abc")
	via.Params.Add("rport", "")
	inv.AppendHeader(via)
	inv.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TCP", Host: "::ffff:10.0.0.1"})
	mf := sip.MaxForwardsHeader(70)
	inv.AppendHeader(&mf)
	from := &sip.FromHeader{DisplayName: "Alice \\\"A\\\"", Address: sip.Uri{Scheme: "sip", User: "alice",
		Password: "pw", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", "a1")
	from.Params.Add("x", "has space")
	from.Params.Add("y", "has\ttab")
	inv.AppendHeader(from)
	inv.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "tel", User: "+15551234"}})
	cid := sip.CallIDHeader("c1@example.com")
	inv.AppendHeader(&cid)
	inv.AppendHeader(&sip.CSeqHeader{SeqNo: 4294967295, MethodName: sip.INVITE})
	inv.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Host: "[2001:db8::2]", Port: 5070,
		Headers: sip.HeaderParams{{K: "Subject", V: "hi"}, {K: "Priority", V: "urgent"}}}})
	inv.AppendHeader(&sip.RouteHeader{Address: sip.Uri{Scheme: "sip", Host: "p1.example.net",
		UriParams: sip.HeaderParams{{K: "lr"}}}})
	inv.AppendHeader(&sip.RecordRouteHeader{Address: sip.Uri{Scheme: "sips", Host: "fe80::1%eth0"}})
	ct := sip.ContentTypeHeader("application/sdp")
	inv.AppendHeader(&ct)
	exp := sip.ExpiresHeader(3600)
	inv.AppendHeader(&exp)
	inv.AppendHeader(sip.NewHeader("Subject", "Performance Test"))
	inv.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE"))
	inv.SetBody([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"))
	out["invite"] = inv

	var tel sip.Uri
	if err := sip.ParseUri("tel:+1-555-1234;phone-context=example.com", &tel); err != nil {
		panic(err)
	}
	out["tel request-uri"] = sip.NewRequest(sip.OPTIONS, tel)
	out["no headers"] = sip.NewRequest(sip.OPTIONS, sip.Uri{Host: "example.com"})

	reg := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "example.com", HierarhicalSlashes: true})
	reg.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Wildcard: true}})
	reg.SetBody(nil)
	out["wildcard contact"] = reg

	res := responseTagged(inv, 200, "OK", "b2")
	res.AppendHeader(sip.NewHeader("Server", "Switchboard"))
	res.SetBody([]byte("v=0\r\n"))
	out["200"] = res
	out["no reason"] = sip.NewResponse(699, "")

	compact := sip.NewRequest(sip.BYE, target)
	compact.AppendHeader(sip.HeaderClone(via))
	compact.AppendHeader(&cid)
	compact.CompactHeaders = true
	out["compact headers"] = compact
	return out
}

// writeMessage writes what sipgo's StringWrite writes, byte for byte.
func TestWriteMessageMatchesSipgo(t *testing.T) {
	for name, m := range builtMessages() {
		if got, want := ourBytes(m), sipgoBytes(m); got != want {
			t.Errorf("%s:\nours  %q\nsipgo %q", name, got, want)
		}
	}
}

// The same on every message of the shared corpora that sipgo parses (its
// parser's output, written both ways): the RFC 4475 torture messages and
// both messages of each PROTOS c07-sip case, placeholders filled in.
func TestWriteMessageMatchesSipgoOnCorpus(t *testing.T) {
	compare := func(name string, raw []byte) bool {
		m, err := sip.ParseMessage(raw)
		if err != nil {
			return false
		}
		if got, want := ourBytes(m), sipgoBytes(m); got != want {
			t.Errorf("%s:\nours  %q\nsipgo %q", name, got, want)
		}
		return true
	}
	dir := sharedCorpus(t, "rfc4475")
	files, err := filepath.Glob(filepath.Join(dir, "*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if compare(filepath.Base(f), raw) {
			compared++
		}
	}
	t.Logf("rfc4475: %d of %d messages parsed and compared", compared, len(files))

	files, err = filepath.Glob(filepath.Join(sharedCorpus(t, "protos-c07-sip"), "*"))
	if err != nil {
		t.Fatal(err)
	}
	fill := testkit.ProtosFill{To: "bob@example.com", From: "alice@example.com", Addr: "127.0.0.1", Port: 5070,
		CallID: "protos", Branch: "1", Teardown: "BYE"}
	protos := 0
	for _, f := range files {
		c, err := testkit.ReadProtosCase(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, raw := range [][]byte{c.Invite, c.Teardown} {
			if compare(fmt.Sprintf("protos %s/%d", c.Name, i), fill.Apply(raw)) {
				protos++
			}
		}
	}
	t.Logf("protos-c07-sip: %d of %d messages parsed and compared", protos, 2*len(files))
	if compared == 0 || protos == 0 {
		t.Error("no message of a corpus parsed: nothing compared")
	}
}

// Writing a call's INVITE allocates nothing (sipgo's writer: ≈ 15 objects).
func TestWriteMessageAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	inv := parsedInvite(t)
	inv.SetBody([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"))
	var b bytes.Buffer
	b.Grow(wireSize)
	n := testing.AllocsPerRun(100, func() {
		b.Reset()
		writeMessage(&b, inv)
	})
	if n != 0 {
		t.Errorf("%v allocations per message, want 0", n)
	}
}

func BenchmarkWriteMessage(b *testing.B) {
	inv := builtMessages()["invite"]
	var buf bytes.Buffer
	buf.Grow(wireSize)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			writeMessage(&buf, inv)
		}
	})
	b.Run("sipgo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			inv.StringWrite(&buf)
		}
	})
}
