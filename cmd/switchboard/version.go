package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(d deps) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of switchboard",
		Long: `Print the version of this switchboard binary and the Go version it was built
with. The version is the one set at build time (-ldflags "-X main.version=..."),
else the module version, else the VCS revision it was built from.`,
		Example: `  switchboard version`,
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionString(d.version, d.buildInfo))
			return err
		}),
	}
}

// versionString returns "switchboard VERSION (GOVERSION)".
func versionString(v string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if v == "" || v == "dev" {
		v = "dev"
		if bi, ok := buildInfo(); ok && bi != nil {
			v = buildVersion(bi)
		}
	}
	return fmt.Sprintf("switchboard %s (%s)", v, runtime.Version())
}

// buildVersion is the main module's version, else "dev-" and the short VCS
// revision ("+dirty" when built from modified sources), else "dev".
func buildVersion(bi *debug.BuildInfo) string {
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		return mv
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return "dev-" + rev
}
