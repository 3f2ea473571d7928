package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMECommands keeps the README from rotting: every switchboard
// command line in its shell blocks must name real commands and flags (run
// with --help, so nothing is contacted), and every repository file it
// names must exist.
func TestREADMECommands(t *testing.T) {
	root := filepath.Join("..", "..")
	f, err := os.Open(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inShell, checked := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "```sh"):
			inShell = true
			continue
		case strings.HasPrefix(line, "```"):
			inShell = false
			continue
		}
		if !inShell {
			continue
		}
		for _, word := range strings.Fields(line) {
			if strings.HasPrefix(word, "examples/") || strings.HasPrefix(word, "test/e2e/scenarios/") {
				if _, err := os.Stat(filepath.Join(root, word)); err != nil {
					t.Errorf("README names %s, which does not exist", word)
				}
			}
		}
		args := commandLine(line)
		if args == nil {
			continue
		}
		checked++
		code, _, stderr := execute(t, testDeps(t, nil), "", append(args, "--help")...)
		if code != 0 {
			t.Errorf("README command %q: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d switchboard command lines found in README.md", checked)
	}
}

// commandLine returns the arguments of a `switchboard ...` or `go run
// ./cmd/switchboard ...` line (up to a comment, pipe or redirection), or nil.
func commandLine(line string) []string {
	for _, cut := range []string{" #", " |", " >", " &"} {
		if i := strings.Index(line, cut); i >= 0 {
			line = line[:i]
		}
	}
	fields := strings.Fields(line)
	switch {
	case len(fields) >= 1 && fields[0] == "switchboard":
		return fields[1:]
	case len(fields) >= 3 && fields[0] == "go" && fields[1] == "run" && fields[2] == "./cmd/switchboard":
		return fields[3:]
	}
	return nil
}
