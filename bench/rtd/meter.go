package main

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// flowKey is one SIPp call as the server sees it: its call-ID and the
// client's address (the same call-ID from two clients is two flows).
type flowKey struct {
	callID string
	client netip.AddrPort
}

// txKey is one of a flow's transactions (its CSeq number).
type txKey struct {
	flowKey
	cseq uint32
}

// meter pairs each flow's first request with the server's first 2xx to it
// (the flow's time, as SIPp's rtd), and the 2xx's own request with it (the
// answered transaction's time: the server's part alone, without the
// client's turn after a 401/407).
type meter struct {
	addr   netip.Addr
	port   uint16
	method string
	parser *sip.Parser

	started  map[flowKey]time.Duration
	txs      map[txKey]time.Duration
	answered map[flowKey]bool
	samples  []time.Duration
	txTimes  []time.Duration
	failed   int // flows the server ended with a final answer other than 2xx, 401 or 407
	bad      int // datagrams to or from the server sipgo could not parse

	slow   time.Duration // when > 0, answered transactions at least this long are listed
	slowTx []slowTx
}

// slowTx is one answered transaction of at least -slow: when its request
// crossed the interface (since the Unix epoch) and how long its 2xx took.
type slowTx struct{ at, took time.Duration }

func newMeter(addr netip.Addr, port uint16, method string) *meter {
	return &meter{addr: addr, port: port, method: method, parser: sip.NewParser(),
		started: map[flowKey]time.Duration{}, txs: map[txKey]time.Duration{}, answered: map[flowKey]bool{}}
}

func (m *meter) isServer(a netip.AddrPort) bool {
	return a.Port() == m.port && a.Addr().Unmap() == m.addr
}

func (m *meter) add(d datagram) {
	toServer, fromServer := m.isServer(d.dst), m.isServer(d.src)
	if !toServer && !fromServer || len(d.payload) < 8 {
		return // not the server's, or a keep-alive
	}
	msg, err := m.parser.ParseSIP(d.payload)
	if err != nil {
		m.bad++
		return
	}
	switch msg := msg.(type) {
	case *sip.Request:
		if !toServer || string(msg.Method) != m.method {
			return
		}
		k := flowKey{callIDOf(msg), d.src}
		if _, seen := m.started[k]; !seen {
			m.started[k] = d.at
		}
		if cseq := msg.CSeq(); cseq != nil {
			if t := (txKey{k, cseq.SeqNo}); m.txs[t] == 0 {
				m.txs[t] = d.at
			}
		}
	case *sip.Response:
		cseq := msg.CSeq()
		if !fromServer || cseq == nil || string(cseq.MethodName) != m.method || msg.StatusCode < 200 {
			return
		}
		k := flowKey{callIDOf(msg), d.dst}
		start, ok := m.started[k]
		if !ok || m.answered[k] {
			return
		}
		switch {
		case msg.StatusCode < 300:
			m.answered[k] = true
			m.samples = append(m.samples, d.at-start)
			if t, ok := m.txs[txKey{k, cseq.SeqNo}]; ok {
				took := d.at - t
				m.txTimes = append(m.txTimes, took)
				if m.slow > 0 && took >= m.slow {
					m.slowTx = append(m.slowTx, slowTx{t, took})
				}
			}
		case msg.StatusCode != 401 && msg.StatusCode != 407:
			m.answered[k] = true
			m.failed++
		}
	}
}

func callIDOf(msg sip.Message) string {
	if h := msg.CallID(); h != nil {
		return string(*h)
	}
	return ""
}

type result struct {
	sorted                []time.Duration
	tx                    []time.Duration // the answered transactions' times, sorted
	slow                  []slowTx        // in capture order
	unanswered, failed    int
	bad, skipped, started int
}

func (m *meter) result() result {
	s, tx := slices.Clone(m.samples), slices.Clone(m.txTimes)
	slices.Sort(s)
	slices.Sort(tx)
	return result{sorted: s, tx: tx, unanswered: len(m.started) - len(m.answered), failed: m.failed,
		bad: m.bad, started: len(m.started), slow: m.slowTx}
}

// quantile is the nearest-rank q-quantile (0 < q ≤ 1) of sorted; 0
// without samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return sorted[max(0, min(i, n-1))]
}

func mean(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return sum / time.Duration(len(s))
}

// stats is "p50 p90 p99 p99.9 max mean" of sorted, in ms, joined by sep.
func stats(sorted []time.Duration, sep string) string {
	if len(sorted) == 0 {
		return strings.Repeat("-"+sep, 5) + "-"
	}
	return strings.Join([]string{ms(quantile(sorted, .5)), ms(quantile(sorted, .9)), ms(quantile(sorted, .99)),
		ms(quantile(sorted, .999)), ms(sorted[len(sorted)-1]), ms(mean(sorted))}, sep)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// tsv is: answered, the flows' p50 p90 p99 p99.9 max mean, unanswered,
// the answered transactions' p50 p90 p99 p99.9 max mean (times in ms).
func (r result) tsv() string {
	return fmt.Sprintf("%d\t%s\t%d\t%s", len(r.sorted), stats(r.sorted, "\t"), r.unanswered, stats(r.tx, "\t"))
}

func (r result) text(server, method string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s flows to %s: %d started in the capture, %d answered 2xx, %d failed, %d not answered in it; %d unparsable, %d packets not UDP\n",
		method, server, r.started, len(r.sorted), r.failed, r.unanswered, r.bad, r.skipped)
	if len(r.sorted) > 0 {
		fmt.Fprintf(&b, "  flow, first request to 2xx, ms:       p50 p90 p99 p99.9 max mean  %s\n", stats(r.sorted, " "))
		fmt.Fprintf(&b, "  the 2xx's transaction alone, ms:       p50 p90 p99 p99.9 max mean  %s\n", stats(r.tx, " "))
	}
	return b.String()
}

// slowLines lists the slow transactions, one a line: "slow", the UTC time
// their request crossed the interface (to the microsecond, to set beside
// the server's log or GODEBUG=gctrace=1 lines) and the time to the 2xx in
// ms.
func (r result) slowLines() string {
	var b strings.Builder
	for _, t := range r.slow {
		at := time.Unix(0, int64(t.at)).UTC()
		fmt.Fprintf(&b, "slow\t%s\t%s\n", at.Format("2006-01-02T15:04:05.000000Z"), ms(t.took))
	}
	return b.String()
}
