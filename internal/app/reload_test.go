package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/numbering"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

const reloadBase = `sip: 127.0.0.1:5060
callingPlan:
  countries: [US]
  carriers:
    - {name: carrier-a, address: "127.0.0.5:5090", countries: [US], priority: 1}
  plans:
    US: {Domestic: {domesticMinutes: 10}}
  rates:
    - {prefix: "+1", perMinute: 0.01}
  numberInventory:
    - {country: US, areaCode: "425", range: "+14255550000-+14255550009", type: user}
`

// TestReloadConfig drives a node's reload over a real store: carriers swap
// in signaling, the prober and health; restart-only keys are reported; an
// invalid file and a range in use change nothing.
func TestReloadConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "node.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadBase)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "data"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	health := trunk.NewHealth(trunk.Config{}, time.Now)
	emptyDir := directory.Build(nil, nil)
	cp, err := newCallingPlan(ctx, cfg.CallingPlan, db, func() *directory.Directory { return emptyDir }, health, log)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{cfg: cfg, log: log, st: db, live: &live{health: health, cp: cp},
		opts: Options{File: file, Reread: func() (config.Config, error) { return config.Load(file) }}}
	n.live.p.Store(&compiled{byKey: map[string]*gateway{}})
	health.OptionsAnswered("carrier/carrier-a")

	// carrier-a moves out, carrier-b in, the +1 rate changes, sip changes.
	write(strings.NewReplacer("carrier-a, address: \"127.0.0.5:5090\"", "carrier-b, address: \"127.0.0.6:5091\"",
		"perMinute: 0.01", "perMinute: 0.02", "127.0.0.1:5060", "127.0.0.1:5070").Replace(reloadBase))
	res, err := n.reloadConfig(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"carrier carrier-b added", "carrier carrier-a removed", "rate +1: 0.01 → 0.02"} {
		if !slices.Contains(res.Changes, want) {
			t.Errorf("changes %q lack %q", res.Changes, want)
		}
	}
	if !slices.Equal(res.NeedsRestart, []string{"sip"}) || res.File != file {
		t.Errorf("result = %+v", res)
	}
	if audit, err := db.Audit(ctx, pbx.AuditFilter{}); err != nil || len(audit) != 1 ||
		audit[0].Kind != "operatorConfig" || audit[0].ActorName != "test" || len(audit[0].Changes) != len(res.Changes)+1 {
		t.Errorf("audit after the reload = %+v, %v; want one operatorConfig entry with every change", audit, err)
	}
	if cp.known("carrier/carrier-a") || !cp.known("carrier/carrier-b") {
		t.Error("carriers not swapped")
	}
	if gws := cp.gateways(); len(gws) != 1 || gws[0].Key != "carrier/carrier-b" {
		t.Errorf("prober's carriers = %+v", gws)
	}
	if g, ok := cp.bySource("127.0.0.6", 5091); !ok || g.Key != "carrier/carrier-b" {
		t.Errorf("bySource = %+v %v", g, ok)
	}
	if _, ok := cp.bySource("127.0.0.5", 5090); ok {
		t.Error("the removed carrier is still recognised")
	}
	if s := health.Snapshot(trunk.Gateway{Key: "carrier/carrier-a", Enabled: true}); !s.LastOptions.IsZero() {
		t.Error("the removed carrier's health was kept")
	}

	// An invalid file: FILE:LINE, nothing changes.
	write(strings.Replace(reloadBase, "perMinute: 0.01", "perMinute: -1", 1))
	_, err = n.reloadConfig(ctx, "test")
	var ce *api.ConfigError
	if !errors.As(err, &ce) || len(ce.Lines) != 1 || !strings.HasPrefix(ce.Lines[0], file+":9: callingPlan.rates[0].perMinute:") {
		t.Fatalf("invalid file: %v (%+v)", err, ce)
	}
	if !cp.known("carrier/carrier-b") {
		t.Error("a refused reload changed the carriers")
	}

	// A range in use cannot go.
	if _, err := cp.svc.Acquire(ctx, "contoso", []string{"+14255550003"}, numbering.Filter{}, 0); err != nil {
		t.Fatal(err)
	}
	write(strings.Replace(reloadBase, `    - {country: US, areaCode: "425", range: "+14255550000-+14255550009", type: user}`+"\n", "", 1))
	_, err = n.reloadConfig(ctx, "test")
	if !errors.As(err, &ce) || len(ce.Lines) != 1 ||
		!strings.HasPrefix(ce.Lines[0], file+":10: callingPlan.numberInventory: no range holds +14255550003 (tenant contoso)") {
		t.Fatalf("range in use: %v (%+v)", err, ce)
	}
	if !cp.svc.InInventory("+14255550004") || !cp.known("carrier/carrier-b") {
		t.Error("a refused reload changed the inventory or the carriers")
	}

	// Without a file there is nothing to reload.
	n.opts.Reread = nil
	if n.reloadFunc() != nil {
		t.Error("the API offers a reload without a file")
	}
}
