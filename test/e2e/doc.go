// Package e2e holds Switchboard's black-box end-to-end tests: they build the
// real binary, start it on loopback with a fresh data directory and drive it
// with real SIP peers (SIPp scenarios in scenarios/).
//
// The tests need sipp (Debian package sip-tester) and are skipped with
// -short; `make test` installs the peers and runs them. TestMain builds
// ./cmd/switchboard once (with -race when the tests run with -race), unless
// SWITCHBOARD_E2E_BIN names a binary to test instead.
package e2e
