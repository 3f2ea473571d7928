//go:build race

package auth

// raceEnabled: built with -race, where sync.Pool drops what is put back at
// random, so allocation counts of pooled code mean nothing.
const raceEnabled = true
