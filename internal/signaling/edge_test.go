package signaling

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// TestNotifyCheckSync: the phone of a moved user gets an unsolicited
// NOTIFY (Event: check-sync) at the address its REGISTER came from, with
// the Call-ID of its registration; its answer is reported.
func TestNotifyCheckSync(t *testing.T) {
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, nil)
	nonces := auth.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, time.Now)
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Directory: func() *directory.Directory { return dir }, Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	phone, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = phone.Close() })
	got := make(chan *sip.Request, 1)
	go func() {
		buf := make([]byte, 4096)
		_ = phone.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := phone.ReadFrom(buf)
		if err != nil {
			close(got)
			return
		}
		msg, err := sip.ParseMessage(buf[:n])
		req, ok := msg.(*sip.Request)
		if err != nil || !ok {
			close(got)
			return
		}
		got <- req
		_, _ = phone.WriteTo([]byte(sip.NewResponseFromRequest(req, 200, "OK", nil).String()), from)
	}()

	// The Contact names an address the phone does not listen on (behind
	// NAT): the NOTIFY must go to the REGISTER's source.
	b := pbx.Binding{AOR: "bob@contoso.com", Contact: "sip:bob@192.0.2.10:5060;transport=udp",
		Source: phone.LocalAddr().String(), Transport: "udp", CallID: "reg-1234@192.0.2.10"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Start returns before sipgo serves the UDP socket that requests are
	// sent from: until it does, sending fails to bind that address.
	var code int
	for range 100 {
		if code, err = s.NotifyCheckSync(ctx, b); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || code != 200 {
		t.Fatalf("NotifyCheckSync = %d, %v; want 200", code, err)
	}
	req, ok := <-got
	if !ok {
		t.Fatal("the phone got no NOTIFY")
	}
	if req.Method != sip.NOTIFY || req.Recipient.User != "bob" || req.Recipient.Host != "192.0.2.10" {
		t.Errorf("request %s %s, want NOTIFY to the contact", req.Method, req.Recipient.String())
	}
	for name, want := range map[string]string{"Event": "check-sync;reboot=false", "Subscription-State": "terminated",
		"Call-ID": "reg-1234@192.0.2.10"} {
		if h := req.GetHeader(name); h == nil || h.Value() != want {
			t.Errorf("%s: %v, want %q", name, h, want)
		}
	}
	if to := req.To(); to == nil || to.Address.User != "bob" || to.Address.Host != "contoso.com" {
		t.Errorf("To %v, want the user's address", to)
	}

	if _, err := s.NotifyCheckSync(ctx, pbx.Binding{AOR: "bob@contoso.com", Contact: "not a uri\x00"}); err == nil {
		t.Error("a contact that is no SIP URI was sent a NOTIFY")
	}
}

// TestRemovesOnly: a REGISTER that only removes bindings (or queries them)
// may still be served by a user's old home; anything adding one may not.
func TestRemovesOnly(t *testing.T) {
	for _, c := range []struct {
		name, headers string
		want          bool
	}{
		{"query", "", true},
		{"Expires 0", "Contact: <sip:a@10.0.0.1>\r\nExpires: 0\r\n", true},
		{"expires=0", "Contact: <sip:a@10.0.0.1>;expires=0\r\n", true},
		{"compact m, expires=0", "m: <sip:a@10.0.0.1>;expires=0\r\n", true},
		{"wildcard", "Contact: *\r\nExpires: 0\r\n", true},
		{"adds", "Contact: <sip:a@10.0.0.1>\r\n", false},
		{"adds with Expires", "Contact: <sip:a@10.0.0.1>\r\nExpires: 3600\r\n", false},
		{"one of two added", "Contact: <sip:a@10.0.0.1>;expires=0\r\nContact: <sip:b@10.0.0.2>;expires=60\r\n", false},
		{"param overrides Expires 0", "Contact: <sip:a@10.0.0.1>;expires=60\r\nExpires: 0\r\n", false},
	} {
		raw := "REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1\r\n" +
			"From: <sip:a@contoso.com>;tag=1\r\nTo: <sip:a@contoso.com>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\n" +
			c.headers + "Content-Length: 0\r\n\r\n"
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := removesOnly(m.(*sip.Request)); got != c.want {
			t.Errorf("%s: removesOnly %v, want %v", c.name, got, c.want)
		}
	}
}
