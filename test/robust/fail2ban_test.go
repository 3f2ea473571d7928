package robust

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fail2banFilter reads docs/fail2ban/filter.d/switchboard.conf and turns
// its failregex and ignoreregex lines into Go regexps (<ADDR> and <HOST>
// become a named group host; the patterns use no syntax RE2 lacks).
func fail2banFilter(t *testing.T) (fail, ignore []*regexp.Regexp) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "fail2ban", "filter.d", "switchboard.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const addr = `(?P<host>\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)`
	var cur *[]*regexp.Regexp
	add := func(p string) {
		p = strings.TrimSpace(p)
		if p == "" || cur == nil {
			return
		}
		p = strings.ReplaceAll(strings.ReplaceAll(p, "<ADDR>", addr), "<HOST>", addr)
		re, err := regexp.Compile(p)
		if err != nil {
			t.Fatalf("filter pattern %q: %v", p, err)
		}
		*cur = append(*cur, re)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "failregex"):
			cur = &fail
			_, v, _ := strings.Cut(line, "=")
			add(v)
		case strings.HasPrefix(line, "ignoreregex"):
			cur = &ignore
			_, v, _ := strings.Cut(line, "=")
			add(v)
		case strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t"):
			add(line) // continuation of the current option
		default:
			cur = nil
		}
	}
	if len(fail) == 0 {
		t.Fatal("no failregex in the filter")
	}
	return fail, ignore
}

// fail2banHost is the host the filter takes from line, or "".
func fail2banHost(fail, ignore []*regexp.Regexp, line string) string {
	for _, re := range ignore {
		if re.MatchString(line) {
			return ""
		}
	}
	for _, re := range fail {
		if m := re.FindStringSubmatch(line); m != nil {
			return m[re.SubexpIndex("host")]
		}
	}
	return ""
}

// TestFail2banFilter checks the shipped filter against the sample log:
// auth failures, bans and refused SBCs count, with the right address;
// everything else does not.
func TestFail2banFilter(t *testing.T) {
	fail, ignore := fail2banFilter(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "fail2ban", "sample.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "203.0.113.9", "203.0.113.9", "2001:db8::7", "198.51.100.23", "2001:db8::66", "192.0.2.44", "", "", "", ""}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("sample.log has %d lines, the test expects %d", len(lines), len(want))
	}
	for i, line := range lines {
		if got := fail2banHost(fail, ignore, line); got != want[i] {
			t.Errorf("line %d: host %q, want %q\n%s", i+1, got, want[i], line)
		}
	}
}
