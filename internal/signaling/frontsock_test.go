package signaling

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
)

// TestFrontAnswersABurst: a burst of REGISTERs, more than the socket's
// readers at once, is answered in full (the readers taking turns wake
// each other when datagrams queue), on an IPv4 socket and on a dual-stack
// IPv6 one, where the phone's IPv4 address comes and goes v4-mapped.
func TestFrontAnswersABurst(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::]:0"} {
		t.Run(listen, func(t *testing.T) {
			dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, nil)
			nonces := auth.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, time.Now)
			s, err := New(Config{Listen: listen}, Deps{Directory: func() *directory.Directory { return dir },
				Nonces: nonces, Registrar: registrar.New(nopBindings{}, registrar.Config{}, time.Now, nil)})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(nil); err != nil {
				if strings.Contains(err.Error(), "address family") {
					t.Skip("no IPv6:", err)
				}
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = phone.Close() })
			_ = phone.SetReadBuffer(1 << 20)

			const n = 300
			for i := range n {
				sendTo(t, phone, s, frontRegister(phone, "z9hG4bKburst"+itoa(i), i+1, ""))
			}
			seen := map[string]bool{}
			for len(seen) < n {
				raw := recvRaw(t, phone, 5*time.Second)
				if raw == nil {
					t.Fatalf("%d of %d answered", len(seen), n)
				}
				_, rest, _ := strings.Cut(string(raw), "branch=")
				branch, _, _ := strings.Cut(rest, ";")
				seen[branch] = true
			}
		})
	}
}
