// Command switchboard is the Switchboard cloud PBX in one binary: it runs a
// node (serve) and administers running nodes through their API (apply, cdr).
package main

import (
	"context"
	"os"
)

// version is set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/switchboard
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], defaultDeps(version), os.Stdin, os.Stdout, os.Stderr))
}
