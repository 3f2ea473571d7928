package signaling

import (
	"testing"
	"time"
)

// A REGISTER's 200 carries a SIP-date (RFC 3261 §20.17: RFC 1123, "GMT"),
// formatted once a second.
func TestDateHeader(t *testing.T) {
	s := &Server{}
	at := time.Date(2026, 11, 26, 10, 4, 5, 0, time.FixedZone("CET", 3600))
	h := s.dateHeader(at)
	if h.Name() != "Date" || h.Value() != "Thu, 26 Nov 2026 09:04:05 GMT" {
		t.Fatalf("%s: %s, want Date: Thu, 26 Nov 2026 09:04:05 GMT", h.Name(), h.Value())
	}
	if s.dateHeader(at.Add(900*time.Millisecond)) != h {
		t.Error("a new header within the same second")
	}
	if next := s.dateHeader(at.Add(time.Second)); next.Value() != "Thu, 26 Nov 2026 09:04:06 GMT" {
		t.Errorf("next second: %s", next.Value())
	}
}
