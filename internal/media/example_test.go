package media_test

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/switchboard-pbx/switchboard/internal/media"
)

// A call: the caller's offer is rewritten for the callee, the callee's
// answer for the caller; media then flows through the relay until Close.
func Example() {
	relay, err := media.NewRelay(media.Config{
		BindIP:      net.IPv4zero,
		AdvertiseIP: net.IPv4(203, 0, 113, 1),
		PortLow:     20000,
		PortHigh:    29999,
	}, slog.Default())
	if err != nil {
		panic(err)
	}
	defer relay.Close()

	call, err := relay.NewSession("a84b4c76e66710@pc33.example.com")
	if err != nil {
		panic(err)
	}
	defer call.Close()

	var offer, answer []byte // from the caller's INVITE and the callee's 200 OK
	toCallee, err := call.Rewrite(media.SideA, offer)
	if err != nil {
		return // media.ErrBadSDP → 488, media.ErrNoPorts → 503
	}
	toCaller, err := call.Rewrite(media.SideB, answer)
	if err != nil {
		return
	}
	fmt.Println(len(toCallee) > 0, len(toCaller) > 0)
}
