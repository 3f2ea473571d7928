// Command tracestat reads a Go runtime trace of Switchboard (bench/run.sh
// TRACE_RATES=...) and tells where the UDP front's readers spend their
// time: their states, the gaps during which no reader waits at the socket
// (datagrams queue in the kernel meanwhile), how long goroutines stay
// runnable by what they were waiting for, and which goroutines run.
//
//	cd bench/tracestat && go run . OUT/sb-call-3000.trace
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

type span struct {
	from, to trace.Time
	state    string
}

type goroutine struct {
	state string
	since trace.Time
	spans []span
	entry string // the function it started in
}

type stats struct {
	gs        map[trace.GoID]*goroutine
	readers   map[trace.GoID]bool
	gc        []span
	delays    map[string][]time.Duration // runnable → running, by the state left
	first     trace.Time
	last      trace.Time
	gcStarted trace.Time
	runnable  map[trace.GoID]span // since, and the state it left
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracestat FILE.trace")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	st, err := read(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st.report(os.Stdout)
}

func stackHas(s trace.Stack, sub string) bool {
	for f := range s.Frames() {
		if strings.Contains(f.Func, sub) {
			return true
		}
	}
	return false
}

func read(in io.Reader) (*stats, error) {
	r, err := trace.NewReader(in)
	if err != nil {
		return nil, err
	}
	st := &stats{gs: map[trace.GoID]*goroutine{}, readers: map[trace.GoID]bool{},
		delays: map[string][]time.Duration{}, runnable: map[trace.GoID]span{}}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return nil, err
		}
		if st.first == 0 {
			st.first = ev.Time()
		}
		st.last = ev.Time()
		switch ev.Kind() {
		case trace.EventRangeBegin:
			if strings.HasPrefix(ev.Range().Name, "GC concurrent mark") {
				st.gcStarted = ev.Time()
			}
		case trace.EventRangeEnd:
			if strings.HasPrefix(ev.Range().Name, "GC concurrent mark") && st.gcStarted != 0 {
				st.gc = append(st.gc, span{st.gcStarted, ev.Time(), "gc"})
				st.gcStarted = 0
			}
		case trace.EventStateTransition:
			st.transition(ev)
		}
	}
}

func (st *stats) transition(ev trace.Event) {
	tr := ev.StateTransition()
	if tr.Resource.Kind != trace.ResourceGoroutine {
		return
	}
	id := tr.Resource.Goroutine()
	from, to := tr.Goroutine()
	g := st.gs[id]
	if g == nil {
		g = &goroutine{since: ev.Time(), state: from.String()}
		st.gs[id] = g
	}
	if g.entry == "" {
		for f := range tr.Stack.Frames() {
			if f.Func != "runtime.goexit" {
				g.entry = f.Func // the last frame is where it started
			}
		}
	}
	name := to.String()
	if to == trace.GoWaiting {
		switch {
		case stackHas(tr.Stack, "netpollblock") || tr.Reason == "network":
			name = "netpoll"
		case stackHas(tr.Stack, "fdMutex"):
			name = "fdlock"
		default:
			name = "wait:" + tr.Reason
		}
	}
	if stackHas(tr.Stack, "(*udpFront).read") || stackHas(tr.Stack, "(*udpFront).help") {
		st.readers[id] = true
	}
	g.spans = append(g.spans, span{g.since, ev.Time(), g.state})
	switch to {
	case trace.GoRunnable:
		st.runnable[id] = span{from: ev.Time(), state: g.state}
	case trace.GoRunning:
		if r, ok := st.runnable[id]; ok {
			st.delays[r.state] = append(st.delays[r.state], ev.Time().Sub(r.from))
			delete(st.runnable, id)
		}
	}
	g.state, g.since = name, ev.Time()
}

func quantile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(float64(len(d)-1)*p)]
}

func (st *stats) report(w io.Writer) {
	total := st.last.Sub(st.first)
	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(total) }
	fmt.Fprintf(w, "trace %v, %d readers, %d GC mark phases\n", total.Round(time.Millisecond), len(st.readers), len(st.gc))
	for _, g := range st.gs {
		g.spans = append(g.spans, span{g.since, st.last, g.state})
	}

	// Each reader's states; and the moments at which one waits at the socket.
	type edge struct {
		t     trace.Time
		delta int
	}
	var edges []edge
	var ids []trace.GoID
	for id := range st.readers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		g := st.gs[id]
		by := map[string]time.Duration{}
		for _, s := range g.spans {
			by[s.state] += s.to.Sub(s.from)
			if s.state == "netpoll" || s.state == "fdlock" {
				edges = append(edges, edge{s.from, 1}, edge{s.to, -1})
			}
		}
		fmt.Fprintf(w, "reader %d (%s):", id, strings.TrimPrefix(g.entry, "github.com/switchboard-pbx/switchboard/internal/"))
		for _, k := range sortedKeys(by) {
			if pct(by[k]) >= 0.1 {
				fmt.Fprintf(w, " %s %.1f%%", k, pct(by[k]))
			}
		}
		fmt.Fprintln(w)
	}

	// Gaps: no reader in the netpoller nor queued for the read lock. (A
	// helper parked on its channel is not at the socket.)
	sort.Slice(edges, func(i, j int) bool { return edges[i].t < edges[j].t })
	type gap struct {
		at trace.Time
		d  time.Duration
	}
	var gaps []gap
	n, start := 0, st.first
	for _, e := range edges {
		if n == 0 && e.delta > 0 && e.t > start {
			gaps = append(gaps, gap{start, e.t.Sub(start)})
		}
		n += e.delta
		if n == 0 {
			start = e.t
		}
	}
	var ds []time.Duration
	var sum, over1 time.Duration
	for _, g := range gaps {
		ds = append(ds, g.d)
		sum += g.d
		if g.d > time.Millisecond {
			over1 += g.d
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Fprintf(w, "no reader at the socket: %d gaps, %.1f%% of the time (%.1f%% in gaps over 1 ms); p50 %v p90 %v p99 %v max %v\n",
		len(ds), pct(sum), pct(over1), quantile(ds, .5), quantile(ds, .9), quantile(ds, .99), quantile(ds, 1))
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].d > gaps[j].d })
	for _, g := range gaps[:min(5, len(gaps))] {
		var inGC time.Duration
		for _, s := range st.gc {
			if lo, hi := max(s.from, g.at), min(s.to, g.at+trace.Time(g.d)); hi > lo {
				inGC += hi.Sub(lo)
			}
		}
		fmt.Fprintf(w, "  longest: at %.3f s, %v (%v of it in a GC mark phase)\n", g.at.Sub(st.first).Seconds(), g.d, inGC)
	}

	// How long goroutines stayed runnable, by what they had waited for.
	fmt.Fprintln(w, "runnable before running, by the state left:")
	for _, k := range sortedKeys(st.delays) {
		d := st.delays[k]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		var s time.Duration
		for _, x := range d {
			s += x
		}
		if s < time.Millisecond {
			continue
		}
		fmt.Fprintf(w, "  %-34s n %7d total %10v p50 %9v p99 %9v max %v\n", k, len(d), s.Round(time.Microsecond),
			quantile(d, .5), quantile(d, .99), quantile(d, 1))
	}

	// Running time by the function a goroutine started in.
	run := map[string]time.Duration{}
	for _, g := range st.gs {
		for _, s := range g.spans {
			if s.state == "Running" {
				run[g.entry] += s.to.Sub(s.from)
			}
		}
	}
	keys := sortedKeys(run)
	sort.SliceStable(keys, func(i, j int) bool { return run[keys[i]] > run[keys[j]] })
	fmt.Fprintln(w, "running, by where the goroutine started:")
	for _, k := range keys[:min(8, len(keys))] {
		if k == "" {
			k = "?"
		}
		fmt.Fprintf(w, "  %-72s %9v %5.1f%%\n", k, run[k].Round(time.Millisecond), pct(run[k]))
	}
	var gc time.Duration
	for _, s := range st.gc {
		gc += s.to.Sub(s.from)
	}
	fmt.Fprintf(w, "GC mark phases: %v (%.1f%% of the time)\n", gc.Round(time.Millisecond), pct(gc))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
