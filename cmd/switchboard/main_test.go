package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/app"
	"github.com/switchboard-pbx/switchboard/internal/config"
)

// testDeps returns deps with the given environment whose runNode fails the
// test if called.
func testDeps(t *testing.T, env map[string]string) deps {
	t.Helper()
	return deps{
		version:   "v9.9.9",
		buildInfo: func() (*debug.BuildInfo, bool) { return nil, false },
		getenv:    func(k string) string { return env[k] },
		runNode: func(context.Context, config.Config, *slog.Logger, app.Options) error {
			t.Error("runNode called")
			return nil
		},
	}
}

// execute runs the command line and returns its exit code and output.
func execute(t *testing.T, d deps, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, d, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServeConfigPrecedence(t *testing.T) {
	file := writeFile(t, "node.yaml", "sip: 10.0.0.5:5060\nadminToken: from-file\nlogLevel: warn\nrtpPorts: 30000-30999\n")
	def := config.Default()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want func(*config.Config)
	}{
		{name: "defaults", want: func(*config.Config) {}},
		{
			name: "file over defaults",
			args: []string{"--config", file},
			want: func(c *config.Config) {
				c.SIP, c.AdminToken, c.LogLevel, c.RTPPorts = "10.0.0.5:5060", "from-file", "warn", "30000-30999"
			},
		},
		{
			name: "env over file",
			env:  map[string]string{config.EnvAdminToken: "from-env"},
			args: []string{"--config", file},
			want: func(c *config.Config) {
				c.SIP, c.AdminToken, c.LogLevel, c.RTPPorts = "10.0.0.5:5060", "from-env", "warn", "30000-30999"
			},
		},
		{
			name: "flags over env and file",
			env:  map[string]string{config.EnvAdminToken: "from-env"},
			args: []string{"--config", file, "--admin-token", "from-flag", "--log-level", "debug", "--http", ":9090", "--media-ip", "203.0.113.7", "--data", "/tmp/d"},
			want: func(c *config.Config) {
				c.SIP, c.AdminToken, c.LogLevel, c.RTPPorts = "10.0.0.5:5060", "from-flag", "debug", "30000-30999"
				c.HTTP, c.MediaIP, c.Data = ":9090", "203.0.113.7", "/tmp/d"
			},
		},
		{
			name: "a flag set to its default value still wins",
			args: []string{"--config", file, "--sip", def.SIP, "--rtp-ports=" + def.RTPPorts},
			want: func(c *config.Config) { c.AdminToken, c.LogLevel = "from-file", "warn" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newServeCmd(testDeps(t, tt.env))
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := serveConfig(cmd.Flags(), func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			want := config.Default()
			tt.want(&want)
			if got != want {
				t.Errorf("config =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	bad := writeFile(t, "edge.yaml", "sip: :5060\n\nrtpPort: 1-2\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"validation", []string{"serve", "--rtp-ports", "1-2", "--sip", "nope"},
			[]string{"Error: invalid configuration", `  sip: "nope" is not HOST:PORT`, "  rtpPorts: 1-2 must lie within 1024-65535"}},
		{"file", []string{"serve", "--config", bad},
			[]string{"Error: invalid configuration", "  " + bad + ":3: rtpPort: unknown field"}},
		{"missing file", []string{"serve", "--config", bad + ".missing"},
			[]string{"Error: invalid configuration", "  read config: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := execute(t, testDeps(t, nil), "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q", stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("stderr =\n%s\nwant %d lines", stderr, len(tt.want))
			}
			for i := range lines {
				if !strings.HasPrefix(lines[i], tt.want[i]) {
					t.Errorf("line %d = %q, want prefix %q", i, lines[i], tt.want[i])
				}
			}
		})
	}
}

func TestServeRunsNode(t *testing.T) {
	for _, tt := range []struct {
		name    string
		runErr  error
		code    int
		wantErr string
	}{
		{"clean shutdown", nil, 0, ""},
		{"failure", errors.New("listen udp 0.0.0.0:5060: address already in use"), exitFailure, "Error: listen udp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := testDeps(t, map[string]string{config.EnvAdminToken: "tok"})
			var got config.Config
			calls := 0
			d.runNode = func(ctx context.Context, cfg config.Config, log *slog.Logger, _ app.Options) error {
				calls++
				got = cfg
				if ctx == nil || log == nil {
					t.Error("runNode without context or logger")
				}
				return tt.runErr
			}
			code, _, stderr := execute(t, d, "", "serve", "--log-level", "error", "--http", "127.0.0.1:18080")
			if code != tt.code || calls != 1 {
				t.Fatalf("exit code = %d, runNode calls = %d; stderr %s", code, calls, stderr)
			}
			if got.AdminToken != "tok" || got.LogLevel != "error" || got.HTTP != "127.0.0.1:18080" {
				t.Errorf("runNode config = %+v", got)
			}
			if !strings.HasPrefix(stderr, tt.wantErr) || (tt.wantErr == "" && stderr != "") {
				t.Errorf("stderr = %q, want prefix %q", stderr, tt.wantErr)
			}
			if strings.Contains(stderr, "Usage:") {
				t.Error("usage printed for a runtime error")
			}
		})
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--nope"},
		{"serve", "extra"},
		{"apply"}, // -f is required
		{"apply", "-f"},
		{"cdr", "-o", "xml"},
		{"cdr", "--limit", "many"},
		{"nosuchcommand"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := execute(t, testDeps(t, nil), "", args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if !strings.HasPrefix(stderr, "Error: ") {
				t.Errorf("stderr = %q, want a cobra error", stderr)
			}
			if !strings.Contains(stdout+stderr, "Usage:") && !strings.Contains(stderr, "--help") {
				t.Errorf("no usage shown; stdout %q stderr %q", stdout, stderr)
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	root := newRootCmd(testDeps(t, nil))
	for _, c := range append(root.Commands(), root) {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%s: Short, Long and Example must all be set", c.Name())
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := execute(t, testDeps(t, nil), "", "version")
	if want := "switchboard v9.9.9 (" + runtime.Version() + ")\n"; code != 0 || stdout != want {
		t.Errorf("version = %d %q, want %q", code, stdout, want)
	}

	info := func(bi *debug.BuildInfo) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return bi, bi != nil }
	}
	rev := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}}
	for _, tt := range []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		want    string
	}{
		{"ldflags win", "v1.0.0", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}}, "v1.0.0"},
		{"module version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}}, "v0.1.0"},
		{"vcs revision", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: rev}, "dev-0123456789ab"},
		{"dirty", "dev", &debug.BuildInfo{Settings: append(rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"})}, "dev-0123456789ab+dirty"},
		{"nothing known", "dev", &debug.BuildInfo{}, "dev"},
		{"no build info", "", nil, "dev"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := "switchboard " + tt.want + " (" + runtime.Version() + ")"
			if got := versionString(tt.ldflags, info(tt.bi)); got != want {
				t.Errorf("versionString = %q, want %q", got, want)
			}
		})
	}
}
