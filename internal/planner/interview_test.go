package planner

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestInterviewThroughPipe answers question by question through a pipe,
// waiting for each prompt the way a person at a terminal would, with
// invalid answers that must be asked again.
func TestInterviewThroughPipe(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	type result struct {
		a   Answers
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := Interview(inR, outW, testOperator, Answers{})
		outW.Close()
		done <- result{a, err}
	}()

	out := bufio.NewReader(outR)
	var transcript strings.Builder
	// expect reads the output up to the next prompt ("]: ") and checks it
	// contains want, then types answer.
	expect := func(want, answer string) {
		t.Helper()
		var seen strings.Builder
		for !strings.HasSuffix(seen.String(), "]: ") {
			b, err := out.ReadByte()
			if err != nil {
				t.Fatalf("output ended waiting for %q; got:\n%s%s", want, transcript.String(), seen.String())
			}
			seen.WriteByte(b)
		}
		transcript.WriteString(seen.String() + answer + "\n")
		if !strings.Contains(seen.String(), want) {
			t.Fatalf("prompt %q does not contain %q", seen.String(), want)
		}
		if _, err := io.WriteString(inW, answer+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	expect("on-prem Switchboard or Skype for Business-like server", "maybe")
	expect(`"maybe" is not an answer`, "y")
	expect("Where are your users homed", "hybrid")
	expect(`"hybrid" is not one of onprem, cloud, both`, "On-Prem")
	expect("move your on-prem users to the cloud", "") // default: no
	expect("[required]", "")
	expect("A country code is required", "UK")
	expect("is GB", "gb")
	expect("Must you keep your current phone carrier", "yes")
	// usersHomed=onprem without a move: mixed routing is not asked.
	expect("existing PBX or equipment", "n")
	// No PBX: its features are not asked.
	expect("features the cloud does not offer", "N")
	expect("keep working when the connection to the cloud is lost", "Y")
	go func() { _, _ = io.Copy(io.Discard, out) }()
	res := <-done
	inW.Close()
	if res.err != nil {
		t.Fatalf("Interview: %v\n%s", res.err, transcript.String())
	}
	want := Answers{ExistingOnPremServer: true, UsersHomed: HomedOnPrem, Country: "GB", KeepCarrier: true, NeedLocalSurvivability: true}
	if res.a != want {
		t.Fatalf("answers %+v, want %+v", res.a, want)
	}
	if !strings.Contains(transcript.String(), "The operator sells the Calling Plan in GB") {
		t.Errorf("the Calling Plan availability was not shown:\n%s", transcript.String())
	}
	if r := Recommend(res.a, testOperator); r.Best != EnterpriseVoice {
		t.Errorf("best %s, want enterprise-voice", r.Best)
	}
}

func TestInterviewDefaults(t *testing.T) {
	start := Answers{Country: "us", KeepCarrier: true, ExistingPbx: true, PbxUniqueFeatures: true}
	var out strings.Builder
	// No server: usersHomed and moveUsersToCloud are not asked. Enter
	// takes every default.
	a, err := Interview(strings.NewReader(strings.Repeat("\n", 9)), &out, testOperator, start)
	if err != nil {
		t.Fatalf("Interview: %v\n%s", err, out.String())
	}
	want := Answers{UsersHomed: HomedCloud, Country: "US", KeepCarrier: true, ExistingPbx: true, PbxUniqueFeatures: true}
	if a != want {
		t.Errorf("answers %+v, want %+v", a, want)
	}
	for _, s := range []string{"[US]", "yes/no [Y/n]", "yes/no [y/N]", "Mixed routing"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output does not show %q:\n%s", s, out.String())
		}
	}
}

func TestInterviewInputEnds(t *testing.T) {
	for _, in := range []string{"", "n\nUS\n", "n\nUS\nn\nn\nn"} {
		_, err := Interview(strings.NewReader(in), io.Discard, testOperator, Answers{})
		if !errors.Is(err, ErrInputEnded) {
			t.Errorf("input %q: %v, want ErrInputEnded", in, err)
		}
	}
	// A last line without a newline still counts.
	a, err := Interview(strings.NewReader("n\nBR\nn\nn\nn\nn"), io.Discard, testOperator, Answers{})
	if err != nil || a.Country != "BR" {
		t.Errorf("got %+v, %v", a, err)
	}
}
