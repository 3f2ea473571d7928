package testkit

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	const text = `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 13
switchboard_media_packets_total{direction="caller_to_callee"} 120
switchboard_media_packets_total{direction="callee_to_caller",leg="a \"b\", c"} 98 1700000000000
switchboard_media_ports_in_use 0
`
	ms, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
		ok     bool
	}{
		{"go_goroutines", nil, 13, true},
		{"switchboard_media_packets_total", nil, 218, true},
		{"switchboard_media_packets_total", map[string]string{"direction": "caller_to_callee"}, 120, true},
		{"switchboard_media_packets_total", map[string]string{"leg": `a "b", c`}, 98, true},
		{"switchboard_media_ports_in_use", nil, 0, true},
		{"switchboard_missing", nil, 0, false},
	} {
		got, ok := ms.Sum(tc.name, tc.labels)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Sum(%s, %v) = %v, %v; want %v, %v", tc.name, tc.labels, got, ok, tc.want, tc.ok)
		}
	}
}
