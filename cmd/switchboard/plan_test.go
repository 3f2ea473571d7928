package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/planner"
)

// issueAnswers is the answers file of issue 7, as written there.
const issueAnswers = `existingOnPremServer: false   # an on-prem Switchboard / Skype for Business-like server today
usersHomed: cloud             # onprem | cloud | both
moveUsersToCloud: true
country: US                   # ISO 3166 code of the users' country
callingPlanAvailable: true    # optional: default from the operator's Calling Plan countries
keepCarrier: false            # e.g. bound by a contract
mixCarrierAndCallingPlan: false
existingPbx: false            # a third-party PBX or equipment (pagers, analog) to keep
pbxUniqueFeatures: false      # it has features the business depends on
needFeaturesCloudLacks: false
needLocalSurvivability: false # calls must keep working without the cloud connection
`

func TestPlanAnswersFile(t *testing.T) {
	file := writeFile(t, "answers.yaml", issueAnswers)
	code, out, errOut := execute(t, testDeps(t, nil), "", "plan", "--answers", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Best fit: Phone System + Calling Plan (calling-plan)",
		"Why, question by question:",
		"keepCarrier", "no carrier to keep",
		"Available worldwide", "limited countries",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
	// Flags override the file; the same answers come from standard input.
	code, out, errOut = execute(t, testDeps(t, nil), issueAnswers, "plan", "--answers", "-", "--keep-carrier", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rec planner.Recommendation
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if rec.Best != planner.DirectRouting || len(rec.Reasons) != len(planner.Questions()) || rec.Requirements[planner.DirectRouting].AvailableWorldwide != "yes" {
		t.Errorf("recommendation %+v", rec)
	}
	if !slices.ContainsFunc(rec.Advice, func(a planner.Advice) bool { return a.Question == "keepCarrier" && a.Topology == planner.CallingPlan }) {
		t.Errorf("no advice to move to calling-plan when the carrier contract ends: %+v", rec.Advice)
	}
}

func TestPlanInvalidAnswers(t *testing.T) {
	tests := []struct {
		name    string
		content string
		args    []string
		want    []string // lines of standard error, FILE replaced by the file
		code    int
	}{
		{
			name:    "unknown field and wrong type",
			content: "country: US\nkeepcarrier: true\nexistingPbx: maybe\nsurvivability: true\n",
			want: []string{
				`FILE:2: keepcarrier: unknown field (did you mean "keepCarrier"?)`,
				"FILE:3: existingPbx: expected true or false",
				"FILE:4: survivability: unknown field",
			},
			code: exitFailure,
		},
		{
			name:    "unknown country",
			content: "keepCarrier: true\ncountry: XX\n",
			want:    []string{`FILE:2: country: "XX" is not an ISO 3166-1 alpha-2 country code (e.g. US, GB, DE)`},
			code:    exitFailure,
		},
		{
			name:    "contradictions",
			content: "country: US\nusersHomed: both\nexistingPbx: false\npbxUniqueFeatures: true\n",
			want: []string{
				`FILE:2: usersHomed: "both" means users are homed on an on-prem server, but existingOnPremServer is false`,
				"FILE:4: pbxUniqueFeatures: true, but existingPbx is false: there is no PBX whose features you need",
			},
			code: exitFailure,
		},
		{
			name:    "no Calling Plan to mix with",
			content: "country: BR\nmixCarrierAndCallingPlan: true\n",
			want:    []string{"FILE:2: mixCarrierAndCallingPlan: true needs the Calling Plan, which is not available in BR (callingPlanAvailable is false)"},
			code:    exitFailure,
		},
		{
			name:    "a flag is blamed for its answer",
			content: "country: US\n",
			args:    []string{"--users-homed", "onprem"},
			want:    []string{`--users-homed: "onprem" means users are homed on an on-prem server, but existingOnPremServer is false`},
			code:    exitFailure,
		},
		{
			name:    "syntax",
			content: "country: [US\n",
			code:    exitFailure,
		},
		{
			name:    "two documents",
			content: "country: US\n---\ncountry: GB\n",
			want:    []string{"FILE:3: an answers file holds one document"},
			code:    exitFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "answers.yaml", tt.content)
			args := append([]string{"plan", "--answers", file}, tt.args...)
			code, out, errOut := execute(t, testDeps(t, nil), "", args...)
			if code != tt.code || out != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", code, tt.code, out, errOut)
			}
			if tt.want == nil {
				if !strings.HasPrefix(errOut, file+":1: ") {
					t.Errorf("stderr %q, want FILE:LINE: ...", errOut)
				}
				return
			}
			want := strings.ReplaceAll(strings.Join(tt.want, "\n")+"\n", "FILE", file)
			if errOut != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
			}
		})
	}
}

func TestPlanUsage(t *testing.T) {
	for _, args := range [][]string{
		{"plan"}, // no answers and no terminal
		{"plan", "--country", "US", "--domain", "contoso.com"},
		{"plan", "--country", "US", "--calling-plan-countries", "US,XX"},
		{"plan", "--country", "US", "-o", "yaml"},
		{"plan", "--answers", "-", "-i"},
	} {
		code, _, errOut := execute(t, testDeps(t, nil), "", args...)
		if code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and a message", args, code, errOut, exitUsage)
		}
	}
}

func TestPlanCallingPlanCountries(t *testing.T) {
	code, out, _ := execute(t, testDeps(t, nil), "", "plan", "--country", "BR", "--calling-plan-countries", "br,US", "-o", "json")
	if code != 0 || !strings.Contains(out, `"best": "calling-plan"`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// TestPlanWriteValidates writes the starter configuration of every
// topology with the command, then checks it with the real "apply
// --dry-run" and the real "serve --config" configuration path.
func TestPlanWriteValidates(t *testing.T) {
	tests := []struct {
		best  planner.ID
		flags []string
	}{
		{planner.CallingPlan, []string{"--country", "US"}},
		{planner.CallingPlan, []string{"--country", "GB", "--mix-carrier-and-calling-plan"}},
		{planner.DirectRouting, []string{"--country", "US", "--keep-carrier"}},
		{planner.EdgeHybrid, []string{"--country", "US", "--need-local-survivability"}},
		{planner.EdgeHybrid, []string{"--country", "BR", "--existing-on-prem-server", "--users-homed", "both"}},
		{planner.EnterpriseVoice, []string{"--country", "US", "--existing-on-prem-server", "--users-homed", "onprem"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.best)+strings.Join(tt.flags, ""), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "starter")
			args := append([]string{"plan", "-o", "json", "--write", dir, "--domain", "contoso.com", "--users", "7", "--sites", "2"}, tt.flags...)
			code, out, errOut := execute(t, testDeps(t, nil), "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rec planner.Recommendation
			if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.Best != tt.best {
				t.Fatalf("best %q (%v), want %s", rec.Best, err, tt.best)
			}
			if !strings.Contains(errOut, filepath.Join(dir, "tenant.yaml")) {
				t.Errorf("the written files are not listed on stderr: %q", errOut)
			}

			// apply's local check: --local where apply has it (no server is
			// contacted), else --dry-run.
			tenant := filepath.Join(dir, planner.TenantFile)
			check := "--dry-run"
			if newApplyCmd(testDeps(t, nil)).Flags().Lookup("local") != nil {
				check = "--local"
			}
			code, out, errOut = execute(t, testDeps(t, nil), "", "apply", "-f", tenant, check)
			if code != 0 || out != "tenant contoso: valid (dry run, nothing applied)\n" {
				t.Fatalf("apply --dry-run: exit %d, %q %q", code, out, errOut)
			}

			serve := newServeCmd(testDeps(t, nil))
			if err := serve.Flags().Parse([]string{"--config", filepath.Join(dir, planner.ServerConfigFile)}); err != nil {
				t.Fatal(err)
			}
			if _, err := serveConfig(serve.Flags(), func(string) string { return "" }); err != nil {
				t.Fatalf("serve --config: %v", err)
			}

			// Writing again does not overwrite, unless forced.
			code, _, errOut = execute(t, testDeps(t, nil), "", append(args, "-o", "text")...)
			if code != exitFailure || !strings.Contains(errOut, "already exists") {
				t.Errorf("second write: exit %d, %q", code, errOut)
			}
			if code, _, errOut = execute(t, testDeps(t, nil), "", append(args, "--force")...); code != 0 {
				t.Errorf("--force: exit %d, %q", code, errOut)
			}
		})
	}
}

// TestPlanInteractivePipe drives the questions through standard input
// with --interactive (a pipe is not a terminal).
func TestPlanInteractivePipe(t *testing.T) {
	// server? n; country: BR; keep carrier? Enter (no); PBX? y; unique
	// features? y; cloud-lacking features? n; survivability? n
	code, out, errOut := execute(t, testDeps(t, nil), "n\nBR\n\ny\ny\nn\nn\n", "plan", "-i")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"In which country", "[y/N]: ", "does not sell the Calling Plan in BR", "Best fit: Phone System + Direct Routing (direct-routing)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
	// Input that ends early is an error, not a hang or a guess.
	code, _, errOut = execute(t, testDeps(t, nil), "n\nBR\n", "plan", "-i")
	if code != exitFailure || !strings.Contains(errOut, "input ended") {
		t.Errorf("short input: exit %d, %q", code, errOut)
	}
	// With -o json the questions go to standard error.
	code, out, errOut = execute(t, testDeps(t, nil), "n\nUS\nn\nn\nn\nn\nn\n", "plan", "-i", "-o", "json")
	if code != 0 || !strings.HasPrefix(out, "{") || !strings.Contains(errOut, "In which country") {
		t.Errorf("-i -o json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

const ptyHelperEnv = "SWITCHBOARD_TEST_PLAN_PTY"

// TestPlanPTYHelper is not a test: TestPlanInteractivePTY runs the test
// binary under a pseudo-terminal with ptyHelperEnv set, and this runs
// "switchboard plan" there, with the terminal as its standard input.
func TestPlanPTYHelper(t *testing.T) {
	if os.Getenv(ptyHelperEnv) != "1" {
		t.Skip("helper process for TestPlanInteractivePTY")
	}
	os.Exit(run(context.Background(), []string{"plan"}, testDeps(t, nil), os.Stdin, os.Stdout, os.Stderr))
}

// TestPlanInteractivePTY: an interactive session in a real pseudo-terminal
// (through script(1), else python3's pty module) gets a recommendation.
// plan must detect the terminal by itself.
func TestPlanInteractivePTY(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := []string{self, "-test.run=^TestPlanPTYHelper$", "-test.count=1"}
	var argv []string
	if script, err := exec.LookPath("script"); err == nil {
		quoted := make([]string, len(helper))
		for i, a := range helper {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		argv = []string{script, "-q", "-e", "-c", strings.Join(quoted, " "), os.DevNull}
	} else if py, err := exec.LookPath("python3"); err == nil {
		argv = append([]string{py, "-c", "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"}, helper...)
	} else {
		t.Skip("neither script nor python3 is available to make a pseudo-terminal")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), ptyHelperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// server? n; country: US; carrier? n; mix? n; PBX? n; features? n;
	// survivability? y. Typed ahead: the terminal keeps the lines until
	// plan reads them. stdin stays open until the session ends.
	if _, err := io.WriteString(stdin, "n\nUS\nn\nn\nn\nn\ny\n"); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if err != nil {
		t.Fatalf("session: %v\n%s", err, text)
	}
	for _, want := range []string{"Do you run an on-prem Switchboard", "In which country", "Best fit: Phone System + on-prem edge (hybrid voice) (edge-hybrid)"} {
		if !strings.Contains(text, want) {
			t.Errorf("session output does not contain %q:\n%s", want, text)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, in := range []io.Reader{null, r, strings.NewReader("")} {
		if isTerminal(in) {
			t.Errorf("isTerminal(%T) = true", in)
		}
	}
}
