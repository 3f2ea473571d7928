package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ---------------------------------------------------------------- metrics

// mediaPackets reads the relay's packet counters in both directions.
func mediaPackets(t *testing.T, s *server) (callerToCallee, calleeToCaller float64) {
	t.Helper()
	const name = "switchboard_media_packets_total"
	return s.metric(t, name, map[string]string{"direction": "caller_to_callee"}),
		s.metric(t, name, map[string]string{"direction": "callee_to_caller"})
}

// -------------------------------------------------------------------- CDRs

// cdr is one call detail record as printed by `switchboard cdr -o json`.
type cdr struct {
	CallID          string   `json:"callId"`
	Tenant          string   `json:"tenant"`
	Caller          string   `json:"caller"`
	Callee          string   `json:"callee"`
	Dialed          string   `json:"dialed"`
	Start           string   `json:"start"`
	Answer          string   `json:"answer"`
	End             string   `json:"end"`
	DurationSeconds flexNum  `json:"durationSeconds"`
	Result          string   `json:"result"`
	Cause           flexCode `json:"cause"`
	HangupBy        string   `json:"hangupBy"`
}

func (c cdr) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// flexNum accepts a JSON number, a numeric string or null.
type flexNum float64

func (f *flexNum) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	*f = flexNum(v)
	return err
}

// flexCode is a SIP status given as a number or a string ("486" or
// "486 Busy Here"); it keeps the three-digit code.
type flexCode int

func (c *flexCode) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(strings.Trim(string(bytes.TrimSpace(b)), `"`))
	if s == "" || s == "null" {
		*c = 0
		return nil
	}
	if len(s) > 3 {
		s = s[:3]
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("cause %s: %w", b, err)
	}
	*c = flexCode(v)
	return nil
}

// cdrs lists the server's CDRs with `switchboard cdr -o json`.
func (s *server) cdrs(t *testing.T) ([]cdr, error) {
	t.Helper()
	out, err := s.cli(t, "cdr", "-o", "json")
	if err != nil {
		return nil, err
	}
	var list []cdr
	if err := json.Unmarshal(bytes.TrimSpace(out), &list); err != nil {
		return nil, fmt.Errorf("switchboard cdr -o json: %w\n%s", err, out)
	}
	return list, nil
}

// waitCDR polls the CDR list until one record satisfies match (records are
// written when the call ends, possibly just after the caller saw it end).
func (s *server) waitCDR(t *testing.T, what string, match func(cdr) bool) cdr {
	t.Helper()
	var found cdr
	waitFor(t, 15*time.Second, 100*time.Millisecond, "CDR "+what, func() (bool, string) {
		list, err := s.cdrs(t)
		if err != nil {
			return false, err.Error()
		}
		for _, c := range list {
			if match(c) {
				found = c
				return true, ""
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d CDRs:", len(list))
		for _, c := range list {
			b.WriteString("\n  " + c.String())
		}
		return false, b.String()
	})
	return found
}
