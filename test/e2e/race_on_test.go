//go:build race

package e2e

// raceEnabled builds the server under test with -race too, so a data race
// in the server fails the end-to-end test that provoked it.
const raceEnabled = true
