// Package obs is Switchboard's observability plumbing: the slog logger setup
// and the node's Prometheus metrics. Nothing here is global: the composition
// root builds a logger and a Metrics (with its own registry, never the
// default one) and passes them to the components that report.
package obs

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns a human-readable (logfmt-like text) logger writing to w at
// level: debug, info, warn or error (case-insensitive; empty means info).
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// ParseLevel parses debug|info|warn|error (case-insensitive; empty is info).
func ParseLevel(level string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("obs: unknown log level %q (expected debug, info, warn or error)", level)
}
