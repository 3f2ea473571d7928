package signaling

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
)

func TestParseSessionExpires(t *testing.T) {
	for _, tc := range []struct {
		in   string
		secs int
		ref  string
		ok   bool
	}{
		{"1800", 1800, "", true},
		{"90;refresher=uac", 90, "uac", true},
		{" 600 ; refresher=UAS", 600, "uas", true},
		{"600;foo=bar;refresher=uas", 600, "uas", true},
		{"600;refresher=bogus", 0, "", false},
		{"-5", 0, "", false},
		{"abc", 0, "", false},
		{"", 0, "", false},
	} {
		secs, ref, ok := parseSessionExpires(tc.in)
		if secs != tc.secs || ref != tc.ref || ok != tc.ok {
			t.Errorf("%q: got %d %q %v", tc.in, secs, ref, ok)
		}
	}
}

func invite(t *testing.T, hdrs ...string) *sip.Request {
	t.Helper()
	r := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "bob", Host: "contoso.com"})
	for i := 0; i+1 < len(hdrs); i += 2 {
		r.AppendHeader(sip.NewHeader(hdrs[i], hdrs[i+1]))
	}
	return r
}

func newTestTimer(unit time.Duration) *sessionTimer {
	return &sessionTimer{cfg: TimerConfig{SessionExpires: 1800, MinSE: 90, Unit: unit}.withDefaults(),
		log: func(string, ...any) {}, expired: func(string) {}}
}

func TestNegotiateAsUAS(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hdrs      []string
		ok        bool
		interval  int
		weRefresh bool
		require   bool
	}{
		{"no support: we refresh", nil, true, 1800, true, false},
		{"caller refresher", []string{"Supported", "timer", "Session-Expires", "120;refresher=uac"}, true, 120, false, true},
		{"caller asks us", []string{"Supported", "100rel, timer", "Session-Expires", "120;refresher=uas"}, true, 120, true, true},
		{"no refresher param: caller", []string{"k", "timer", "x", "300"}, true, 300, false, true},
		{"supported without SE: ours", []string{"Supported", "timer"}, true, 1800, false, true},
		{"capped at ours", []string{"Supported", "timer", "Session-Expires", "7200"}, true, 1800, false, true},
		{"too small: 422", []string{"Supported", "timer", "Session-Expires", "60"}, false, 0, false, false},
		{"Min-SE raises", []string{"Supported", "timer", "Session-Expires", "7200", "Min-SE", "3600"}, true, 3600, false, true},
	} {
		st := newTestTimer(time.Second)
		ok, floor := st.negotiate(invite(t, tc.hdrs...))
		if ok != tc.ok {
			t.Errorf("%s: ok = %v", tc.name, ok)
			continue
		}
		if !ok {
			if floor != 90 {
				t.Errorf("%s: Min-SE %d", tc.name, floor)
			}
			continue
		}
		if st.interval != tc.interval || st.weRefresh != tc.weRefresh {
			t.Errorf("%s: interval %d weRefresh %v", tc.name, st.interval, st.weRefresh)
		}
		res := sip.NewResponse(200, "OK")
		for _, h := range st.responseHeaders() {
			res.AppendHeader(h)
		}
		se, ref, _ := sessionExpires(res)
		wantRef := map[bool]string{true: "uas", false: "uac"}[tc.weRefresh]
		if se != tc.interval || ref != wantRef || hasOption(res, "Require", "", "timer") != tc.require {
			t.Errorf("%s: response %q", tc.name, res.String())
		}
	}
}

func TestAnsweredAsUAC(t *testing.T) {
	st := newTestTimer(time.Second)
	res := sip.NewResponse(200, "OK")
	st.answered(res, 1800)
	if st.interval != 1800 || !st.weRefresh {
		t.Errorf("no Session-Expires: %d %v, want 1800 and we refresh", st.interval, st.weRefresh)
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", "300;refresher=uas"))
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, UPDATE"))
	st.answered(res, 1800)
	if st.interval != 300 || st.weRefresh || !st.peerUpdate {
		t.Errorf("refresher=uas: %d %v %v", st.interval, st.weRefresh, st.peerUpdate)
	}
}

// refreshRig is a timer whose refreshes go to a fake peer.
type refreshRig struct {
	st      *sessionTimer
	mu      sync.Mutex
	sent    []*sip.Request
	reason  chan string
	respond func(*sip.Request) (*sip.Response, error)
}

func newRefreshRig(unit time.Duration, respond func(*sip.Request) (*sip.Response, error)) *refreshRig {
	r := &refreshRig{reason: make(chan string, 1), respond: respond}
	r.st = newTestTimer(unit)
	r.st.newRequest = func(m sip.RequestMethod) *sip.Request {
		return sip.NewRequest(m, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	}
	r.st.expired = func(reason string) { r.reason <- reason }
	r.st.send = func(req *sip.Request, sdp []byte) (*sip.Response, error) {
		req.SetBody(sdp)
		r.mu.Lock()
		r.sent = append(r.sent, req)
		r.mu.Unlock()
		return r.respond(req)
	}
	return r
}

func (r *refreshRig) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sent) }

func TestWeRefreshAtHalfInterval(t *testing.T) {
	ok := func(req *sip.Request) (*sip.Response, error) {
		res := sip.NewResponse(200, "OK")
		res.AppendHeader(sip.NewHeader("Session-Expires", "90;refresher=uac"))
		return res, nil
	}
	r := newRefreshRig(2*time.Millisecond, ok) // 90 s = 180 ms
	r.st.interval, r.st.weRefresh = 90, true
	r.st.exchanged([]byte("v=0 ours"), []byte("v=0 theirs"))
	r.st.arm()
	time.Sleep(500 * time.Millisecond) // ~2.8 intervals
	r.st.stop()
	time.Sleep(20 * time.Millisecond) // a refresh in flight ends
	select {
	case why := <-r.reason:
		t.Fatalf("expired (%s) although every refresh succeeded", why)
	default:
	}
	if n := r.count(); n < 2 || n > 7 {
		t.Fatalf("%d refreshes in 500 ms, want about 5 (every 90 ms)", n)
	}
	r.mu.Lock()
	first := r.sent[0]
	r.mu.Unlock()
	se, ref, _ := sessionExpires(first)
	if first.Method != sip.INVITE || string(first.Body()) != "v=0 ours" || se != 90 || ref != "uac" {
		t.Fatalf("refresh %s", first.String())
	}
}

func TestRefreshUsesUpdateWhenAllowed(t *testing.T) {
	r := newRefreshRig(time.Millisecond, func(*sip.Request) (*sip.Response, error) { return sip.NewResponse(200, "OK"), nil })
	r.st.interval, r.st.weRefresh, r.st.peerUpdate = 90, true, true
	r.st.refresh()
	r.st.stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) != 1 || r.sent[0].Method != sip.UPDATE || len(r.sent[0].Body()) != 0 {
		t.Fatalf("sent %v", r.sent)
	}
}

func TestFailedRefreshExpires(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  func(*sip.Request) (*sip.Response, error)
	}{
		{"481", func(*sip.Request) (*sip.Response, error) { return sip.NewResponse(481, "Gone"), nil }},
		{"408", func(*sip.Request) (*sip.Response, error) { return sip.NewResponse(408, "Timeout"), nil }},
		{"no answer", func(*sip.Request) (*sip.Response, error) { return nil, errors.New("transaction timeout") }},
	} {
		r := newRefreshRig(time.Millisecond, tc.res)
		r.st.interval, r.st.weRefresh = 90, true
		r.st.arm()
		select {
		case why := <-r.reason:
			if why != callctl.ReasonRefreshFailed {
				t.Errorf("%s: reason %s", tc.name, why)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s: not expired", tc.name)
		}
		r.st.stop()
	}
}

func TestPeerRefresherExpiresWithoutRefresh(t *testing.T) {
	r := newRefreshRig(10*time.Millisecond, nil)
	r.st.interval, r.st.weRefresh = 90, false // expires at 60 units = 600 ms
	start := time.Now()
	r.st.arm()
	// A refresh from the peer before expiry re-arms.
	time.Sleep(200 * time.Millisecond)
	r.st.arm()
	rearmed := time.Now()
	select {
	case why := <-r.reason:
		if why != callctl.ReasonSessionExpired {
			t.Fatalf("reason %s", why)
		}
		if d := time.Since(rearmed); d < 590*time.Millisecond {
			t.Fatalf("expired %v after the refresh (%v after start): the refresh did not re-arm", d, time.Since(start))
		}
	case <-time.After(2 * time.Second):
		t.Fatal("not expired")
	}
	if r.count() != 0 {
		t.Fatal("we sent a refresh although the peer is the refresher")
	}
}

func TestStoppedTimerNeverFires(t *testing.T) {
	r := newRefreshRig(time.Millisecond, nil)
	r.st.interval = 90
	r.st.arm()
	r.st.stop()
	time.Sleep(150 * time.Millisecond)
	select {
	case <-r.reason:
		t.Fatal("a stopped timer expired")
	default:
	}
}

func TestSDPChanged(t *testing.T) {
	st := newTestTimer(time.Second)
	st.exchanged([]byte("ours"), []byte("theirs"))
	if st.sdpChanged([]byte("theirs")) || st.sdpChanged(nil) || !st.sdpChanged([]byte("new")) {
		t.Fatal("sdpChanged")
	}
}

func FuzzParseSessionExpires(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uac", "600;refresher=UAS;x=y", ";", "1;refresher", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		secs, ref, ok := parseSessionExpires(v)
		if ok && (secs <= 0 || (ref != "" && ref != "uac" && ref != "uas")) {
			t.Fatalf("%q: %d %q", v, secs, ref)
		}
	})
}
