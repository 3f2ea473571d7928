package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/numbering"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Options are what RunWith needs besides the configuration.
type Options struct {
	// File is the server configuration file (messages, the API answer).
	File string
	// Reread reads the configuration again as the node was started (file,
	// environment, flags) and validates it; errors are "FILE:LINE: key:
	// what is wrong" lines, joined. Nil: the node has no file to reload.
	Reread func() (config.Config, error)
	// Hangup receives SIGHUP: each one reloads (the daemon convention).
	Hangup <-chan os.Signal
}

// reloadConfig reads the server configuration again and applies its
// hot-reloadable part, the operator's Calling Plan (docs/calling-plan.md,
// "Reloading"): an invalid file, or one the live state refuses (a number
// range removed under acquired numbers), changes nothing and comes back as
// an *api.ConfigError. Every other key whose value changed is listed in
// NeedsRestart, not applied. Reloads are serialised.
func (n *node) reloadConfig(ctx context.Context, by string) (api.ReloadResult, error) {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	res := api.ReloadResult{File: n.opts.File, Changes: []string{}}
	if n.opts.Reread == nil {
		return res, errors.New("no configuration file to reload (serve --config FILE)")
	}
	next, err := n.opts.Reread()
	if err != nil {
		n.log.Warn("configuration reload refused: nothing changed", "file", n.opts.File, "by", by, "err", err)
		return res, &api.ConfigError{Lines: strings.Split(err.Error(), "\n")}
	}
	res.NeedsRestart = config.RestartKeys(n.cfg, next)
	if cp := n.live.cp; cp != nil && next.CallingPlan != nil {
		ch, err := cp.reconfigure(ctx, n.opts.File, *next.CallingPlan)
		if err != nil {
			n.log.Warn("configuration reload refused: nothing changed", "file", n.opts.File, "by", by, "err", err)
			return res, err
		}
		res.Changes = ch.Changes
		for _, k := range ch.Restart {
			res.NeedsRestart = append(res.NeedsRestart, "callingPlan."+k)
		}
		c := n.live.load()
		n.live.health.Forget(func(key string) bool { _, ok := c.byKey[key]; return ok || cp.known(key) })
	}
	n.auditReload(ctx, by, res)
	n.log.Info("configuration reloaded", "file", n.opts.File, "by", by, "changes", strings.Join(res.Changes, "; "),
		"needs_restart", strings.Join(res.NeedsRestart, ","))
	if len(res.NeedsRestart) > 0 {
		n.log.Warn("configuration reload: these keys changed but need a restart", "keys", strings.Join(res.NeedsRestart, ","))
	}
	return res, nil
}

// auditReload records a reload that changed something in the audit log:
// kind operatorConfig, named by the file, no tenant, one field change per
// change applied (and the keys left for a restart).
func (n *node) auditReload(ctx context.Context, by string, res api.ReloadResult) {
	if len(res.Changes) == 0 && len(res.NeedsRestart) == 0 {
		return
	}
	e := pbx.AuditEntry{Time: time.Now().UTC(), ActorID: by, ActorName: by, Action: "update",
		Kind: "operatorConfig", Name: res.File}
	for _, c := range res.Changes {
		e.Changes = append(e.Changes, pbx.FieldChange{Field: "callingPlan", After: c})
	}
	for _, k := range res.NeedsRestart {
		e.Changes = append(e.Changes, pbx.FieldChange{Field: k, After: "needs a restart"})
	}
	if err := n.st.RecordAudit(ctx, []pbx.AuditEntry{e}); err != nil {
		n.log.Error("configuration reload: audit entry not recorded", "err", err)
	}
}

// reconfigure swaps the Calling Plan's configuration (numbering
// validates it whole and keeps the live state) and then its carriers as
// signaling and the prober see them.
func (cp *callingPlan) reconfigure(ctx context.Context, file string, c config.CallingPlan) (numbering.Change, error) {
	nc, problems := c.Numbering()
	if len(problems) == 0 {
		ch, err := cp.svc.Reconfigure(nc)
		var re *numbering.ReconfigureError
		if !errors.As(err, &re) {
			if err != nil {
				return numbering.Change{}, fmt.Errorf("calling plan: %w", err)
			}
			cp.view.Store(newCarrierView(ctx, cp.svc.Carriers(), cp.log))
			return ch, nil
		}
		problems = re.Problems
	}
	lines := strings.Split(config.LocateCallingPlan(file, problems).Error(), "\n")
	return numbering.Change{}, &api.ConfigError{Lines: lines}
}

// watchHangups reloads on each SIGHUP until ctx ends.
func (n *node) watchHangups(ctx context.Context) {
	if n.opts.Hangup == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.opts.Hangup:
			if n.opts.Reread == nil {
				n.log.Warn("SIGHUP: no configuration file to reload (serve --config FILE); nothing changed")
				continue
			}
			if _, err := n.reloadConfig(ctx, "SIGHUP"); err != nil {
				var ce *api.ConfigError
				if errors.As(err, &ce) {
					for _, l := range ce.Lines {
						n.log.Error("configuration reload refused", "problem", l)
					}
				} else {
					n.log.Error("configuration reload failed", "err", err)
				}
			}
		}
	}
}

// reloadFunc is the API's reload, nil when there is no file to reload.
func (n *node) reloadFunc() func(context.Context, string) (api.ReloadResult, error) {
	if n.opts.Reread == nil {
		return nil
	}
	return n.reloadConfig
}
