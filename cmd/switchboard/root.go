package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/app"
	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/config"
)

// Environment variables read by the client commands.
const (
	envServer = "SWITCHBOARD_SERVER"
	envToken  = "SWITCHBOARD_TOKEN"
)

// defaultServer is the API address of a node started with no config.
const defaultServer = "http://" + config.DefaultHTTP

// Exit codes.
const (
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // bad flags, arguments or configuration
)

// deps is what the commands take from outside the process; tests replace it.
type deps struct {
	version   string                                                                              // from -ldflags, "dev" otherwise
	buildInfo func() (*debug.BuildInfo, bool)                                                     // runtime/debug.ReadBuildInfo
	getenv    func(string) string                                                                 // os.Getenv
	runNode   func(ctx context.Context, cfg config.Config, log *slog.Logger, o app.Options) error // app.RunWith
	now       func() time.Time                                                                    // time.Now; nil too
}

// clock returns d.now, or time.Now when unset.
func (d deps) clock() time.Time {
	if d.now == nil {
		return time.Now()
	}
	return d.now()
}

func defaultDeps(version string) deps {
	return deps{
		version:   version,
		buildInfo: debug.ReadBuildInfo,
		getenv:    os.Getenv,
		runNode:   app.RunWith,
		now:       time.Now,
	}
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, d deps, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(d)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		return exitUsage // cobra has printed the error and the usage
	}
}

func newRootCmd(d deps) *cobra.Command {
	root := &cobra.Command{
		Use:   "switchboard",
		Short: "Switchboard cloud PBX: run a node and administer it",
		Long: `Switchboard is a multi-tenant cloud PBX in one binary.

"switchboard serve" runs a node: SIP registrar and B2BUA, RTP relay, and the
admin API. The other commands are clients of a running node's API; they find
it through --server (or SWITCHBOARD_SERVER) and authenticate with --token (or
SWITCHBOARD_TOKEN).`,
		Example: `  # run a node with the defaults (SQLite in ./switchboard-data, SIP on 5060)
  switchboard serve

  # apply tenant documents to it
  switchboard apply -f contoso.yaml

  # list the last calls
  switchboard cdr --tenant contoso`,
	}
	root.AddCommand(
		newServeCmd(d),
		newApplyCmd(d),
		newCDRCmd(d),
		newPlanCmd(d),
		newVersionCmd(d),
		newGetCmd(d),
		newDeleteCmd(d),
		newTokensCmd(d),
		newAuditCmd(d),
		newRouteCmd(d),
		newStatusCmd(d), // hybrid.go
		newUsersCmd(d),  // hybrid.go
		newNumbersCmd(d),
		newUsageCmd(d),
		newCreditsCmd(d),
		newReloadCmd(d), // reload.go
	)
	return root
}

// exitError ends the process with code. err, when set, is reported by
// runE; a nil err means the command has already said what went wrong.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// runE wraps a command body. Once flags and arguments are accepted, a
// failure is no longer a usage problem: the usage is not printed, and the
// error is printed here — document problems one per line as
// "FILE:LINE: field: message", anything else as "Error: message".
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cmd.SilenceUsage = true
		cmd.SilenceErrors = true
		err := fn(cmd, args)
		if err == nil {
			return nil
		}
		ee := &exitError{code: exitFailure, err: err}
		errors.As(err, &ee)
		if ee.err != nil {
			var de *cli.DocError
			if errors.As(ee.err, &de) {
				for _, l := range de.Lines {
					fmt.Fprintln(cmd.ErrOrStderr(), l)
				}
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "Error:", ee.err)
			}
		}
		return &exitError{code: ee.code}
	}
}

// client builds an API client from --server and --token, falling back to
// SWITCHBOARD_SERVER and SWITCHBOARD_TOKEN, then to the local default.
func client(cmd *cobra.Command, d deps) *cli.Client {
	c := &cli.Client{}
	c.Server = firstSet(flagValue(cmd, "server"), d.getenv(envServer), defaultServer)
	c.Token = firstSet(flagValue(cmd, "token"), d.getenv(envToken))
	return c
}

// addClientFlags adds --server and --token. Their defaults stay empty so
// that a token taken from the environment is never shown in --help.
func addClientFlags(cmd *cobra.Command) {
	cmd.Flags().String("server", "", "`URL` of the Switchboard API (default $"+envServer+", else "+defaultServer+")")
	cmd.Flags().String("token", "", "API `TOKEN` (default $"+envToken+")")
}

func flagValue(cmd *cobra.Command, name string) string {
	if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
		return f.Value.String()
	}
	return ""
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
