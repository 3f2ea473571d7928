package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// The topology examples the docs show (docs/topologies) are valid as they
// are: server configurations load and validate, tenant documents validate.
func TestTopologyExamples(t *testing.T) {
	for _, name := range []string{"hybrid/edge.yaml", "hybrid/edge-tls.yaml", "standalone/node.yaml"} {
		cfg, err := config.Load(filepath.Join("..", "..", "examples", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if edge := name != "standalone/node.yaml"; edge != (cfg.Cloud != nil) {
			t.Errorf("%s: cloud section %+v", name, cfg.Cloud)
		}
		if tls := name == "hybrid/edge-tls.yaml"; tls != (cfg.Cloud.TrunkTransport() == config.TrunkTLS) {
			t.Errorf("%s: trunk over %s", name, cfg.Cloud.TrunkTransport())
		}
	}
	for _, name := range []string{"hybrid/contoso-hybrid.yaml", "standalone/contoso.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		docs, err := cli.LoadDocuments(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, d := range docs {
			if errs := provision.Validate(d); errs != nil {
				t.Errorf("%s: %v", name, errs)
			}
		}
	}
}
