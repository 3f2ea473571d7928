// Command rtd measures a SIP server's response times from a packet
// capture, to the microsecond: SIPp's own response times come in steps of
// its clock (4 ms on this host: every sample is 0 or 4 ms), which cannot
// tell a p99 of 0.3 ms from one of 3.9 ms.
//
// It reads a pcap file (tcpdump -w, on the loopback interface the bench
// runs on) and, for every call-ID whose first METHOD request reached the
// server, takes the time from that request's packet to the packet of the
// first 2xx the server sent back for METHOD with that call-ID: the same
// span as SIPp's rtd in bench/scenarios (from the first REGISTER or INVITE,
// through the 401/407 challenge, to the 200), stamped by the kernel when
// each packet crossed the interface; and, apart, the 2xx's own transaction
// (from its request to it: the server's part without the client's turn
// after the challenge).
//
//	tcpdump -i lo -s 2048 -w cap.pcap udp port 5060
//	go run ./bench/rtd -server 127.0.0.1:5060 -method REGISTER cap.pcap
//
// Flows that start before the capture or end after it are left out
// (counted as unanswered when their start was seen).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"
)

func main() {
	server := flag.String("server", "", "the server's address as host:port (the packets to and from it are measured)")
	method := flag.String("method", "INVITE", "the request whose flows are timed: INVITE or REGISTER (any method works)")
	tsv := flag.Bool("tsv", false, "print one line, tab-separated: answered, the flows' p50 p90 p99 p99.9 max mean (ms), unanswered, the same six for the 2xx's transactions alone")
	slow := flag.Duration("slow", 0, "also list every answered transaction that took at least this long (e.g. 1ms): when its request was captured and its time")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: rtd -server HOST:PORT [-method INVITE|REGISTER] [-tsv] [-slow D] FILE.pcap")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*server, *method, *tsv, *slow, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rtd:", err)
		os.Exit(2)
	}
}

func run(server, method string, tsv bool, slow time.Duration, files []string, out io.Writer) error {
	if len(files) != 1 {
		return errors.New("one pcap file expected")
	}
	srv, err := netip.ParseAddrPort(server)
	if err != nil {
		return fmt.Errorf("-server %q: want host:port (%v)", server, err)
	}
	if method == "" || strings.ContainsAny(method, " \t") {
		return fmt.Errorf("-method %q: want a SIP method such as INVITE", method)
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := newPcapReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	m := newMeter(srv.Addr().Unmap(), srv.Port(), strings.ToUpper(method))
	m.slow = slow
	for {
		d, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", files[0], err)
		}
		m.add(d)
	}
	r := m.result()
	r.skipped = p.skipped
	if tsv {
		fmt.Fprintln(out, r.tsv())
	} else {
		fmt.Fprint(out, r.text(server, method))
	}
	fmt.Fprint(out, r.slowLines())
	return nil
}
