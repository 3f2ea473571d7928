package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ---------------------------------------------------------------- metrics

// sample is one series of the Prometheus text exposition format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

type metricSet []sample

// parseMetrics reads the Prometheus text format (comments skipped,
// timestamps ignored).
func parseMetrics(r io.Reader) (metricSet, error) {
	var out metricSet
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d %q: %w", n, line, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value")
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, " ,")
			if line == "" {
				return s, fmt.Errorf("unterminated labels")
			}
			if line[0] == '}' {
				line = line[1:]
				break
			}
			eq := strings.IndexByte(line, '=')
			if eq <= 0 || len(line) < eq+2 || line[eq+1] != '"' {
				return s, fmt.Errorf("bad label")
			}
			key := strings.TrimSpace(line[:eq])
			line = line[eq+2:]
			var val strings.Builder
			closed := false
			for j := 0; j < len(line); j++ {
				c := line[j]
				if c == '\\' && j+1 < len(line) {
					j++
					switch line[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(line[j])
					}
					continue
				}
				if c == '"' {
					line, closed = line[j+1:], true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value")
			}
			s.labels[key] = val.String()
		}
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, err
	}
	s.value = v
	return s, nil
}

// sum adds the values of the series called name whose labels include all
// of want; ok is false when there is none.
func (m metricSet) sum(name string, want map[string]string) (total float64, ok bool) {
	for _, s := range m {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match && !math.IsNaN(s.value) {
			total += s.value
			ok = true
		}
	}
	return total, ok
}

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
