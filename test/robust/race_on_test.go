//go:build race

package robust

// raceEnabled builds the server under test with -race too.
const raceEnabled = true
