// Package app is Switchboard's composition root: it builds every component
// from the bootstrap configuration, wires the ports to their adapters and
// runs the node until its context ends.
package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/switchboard-pbx/switchboard/internal/config"
)

// Run starts a node with cfg and blocks until ctx is cancelled (graceful
// shutdown) or a component fails.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	return errors.New("app: not wired yet")
}
