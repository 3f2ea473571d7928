package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    Config
		wantErr []string // one line each, FILE stripped of its directory
	}{
		{
			name: "valid file",
			content: "# edge node\nsip: 10.0.0.5:5060\nhttp: :8080\ndata: /var/lib/switchboard\n" +
				"rtpPorts: 30000-30999\nadminToken: s3cret\nmediaIp: 203.0.113.7\nlogLevel: debug\n",
			want: Config{SIP: "10.0.0.5:5060", HTTP: ":8080", Data: "/var/lib/switchboard",
				RTPPorts: "30000-30999", AdminToken: "s3cret", MediaIP: "203.0.113.7", LogLevel: "debug"},
		},
		{
			name:    "missing keys take defaults",
			content: "sip: 127.0.0.1:5070\nhttp:\n",
			want:    Config{SIP: "127.0.0.1:5070", HTTP: DefaultHTTP, Data: DefaultData, RTPPorts: DefaultRTPPorts, LogLevel: DefaultLogLevel},
		},
		{
			name:    "empty file",
			content: "",
			want:    Default(),
		},
		{
			name:    "unknown key with line",
			content: "sip: 0.0.0.0:5060\n\nrtpPort: 20000-20100\n",
			wantErr: []string{"edge.yaml:3: rtpPort: unknown field"},
		},
		{
			name:    "wrong type with line",
			content: "sip: 0.0.0.0:5060\nhttp: 127.0.0.1:8080\nrtpPorts: [20000, 20100]\n",
			wantErr: []string{"edge.yaml:3: rtpPorts: expected a string"},
		},
		{
			name:    "all problems",
			content: "logLevel:\n  - debug\nbogus: 1\n",
			wantErr: []string{"edge.yaml:2: logLevel: expected a string", "edge.yaml:3: bogus: unknown field"},
		},
		{
			name:    "not a mapping",
			content: "- sip\n",
			wantErr: []string{"edge.yaml:1: expected a mapping"},
		},
		{
			name:    "two documents",
			content: "sip: :5060\n---\nsip: :5070\n",
			wantErr: []string{"edge.yaml:3: a config file holds one document"},
		},
		{
			name:    "syntax error",
			content: "sip: [\n",
			wantErr: []string{"edge.yaml:1: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "edge.yaml", tt.content)
			got, err := Load(path)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Load = %+v, want error", got)
				}
				lines := strings.Split(strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), ""), "\n")
				if len(lines) != len(tt.wantErr) {
					t.Fatalf("error = %q, want %q", lines, tt.wantErr)
				}
				for i := range lines {
					if !strings.HasPrefix(lines[i], tt.wantErr[i]) {
						t.Errorf("error line %d = %q, want prefix %q", i, lines[i], tt.wantErr[i])
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Load = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestApplyEnv(t *testing.T) {
	c := Default()
	c.AdminToken = "from-file"
	c.ApplyEnv(func(string) string { return "" })
	if c.AdminToken != "from-file" {
		t.Errorf("empty env changed the token to %q", c.AdminToken)
	}
	c.ApplyEnv(func(k string) string {
		if k == EnvAdminToken {
			return "from-env"
		}
		return ""
	})
	if c.AdminToken != "from-env" {
		t.Errorf("AdminToken = %q, want from-env", c.AdminToken)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; empty for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"empty sip host", func(c *Config) { c.SIP = ":5060" }, ""},
		{"ipv6 host", func(c *Config) { c.HTTP = "[::1]:8080" }, ""},
		{"host name", func(c *Config) { c.HTTP = "pbx.example.com:8080" }, ""},
		{"sip without port", func(c *Config) { c.SIP = "0.0.0.0" }, `sip: "0.0.0.0" is not HOST:PORT`},
		{"sip port zero", func(c *Config) { c.SIP = "0.0.0.0:0" }, `sip: port "0" must be a number from 1 to 65535`},
		{"http port too big", func(c *Config) { c.HTTP = "127.0.0.1:65536" }, `http: port "65536" must be a number`},
		{"http port not a number", func(c *Config) { c.HTTP = "127.0.0.1:http" }, `http: port "http"`},
		{"bad host", func(c *Config) { c.HTTP = "bad host:80" }, `http: host "bad host"`},
		{"rtp not a range", func(c *Config) { c.RTPPorts = "20000" }, `rtpPorts: "20000" is not LOW-HIGH`},
		{"rtp below 1024", func(c *Config) { c.RTPPorts = "1000-2000" }, "rtpPorts: 1000-2000 must lie within 1024-65535"},
		{"rtp above 65535", func(c *Config) { c.RTPPorts = "60000-70000" }, "must lie within 1024-65535"},
		{"rtp reversed", func(c *Config) { c.RTPPorts = "30000-20000" }, "rtpPorts: LOW 30000 must be below HIGH 20000"},
		{"rtp one port", func(c *Config) { c.RTPPorts = "20000-20000" }, "must be below HIGH"},
		{"rtp odd low", func(c *Config) { c.RTPPorts = "20001-20100" }, "rtpPorts: LOW 20001 must be even"},
		{"rtp two ports", func(c *Config) { c.RTPPorts = "20000-20001" }, ""},
		{"log level", func(c *Config) { c.LogLevel = "verbose" }, `logLevel: "verbose" is not one of debug, info, warn, error`},
		{"media ip", func(c *Config) { c.MediaIP = "example.com" }, `mediaIp: "example.com" is not an IP address`},
		{"media ip unspecified", func(c *Config) { c.MediaIP = "0.0.0.0" }, "mediaIp: 0.0.0.0 cannot be written into SDP"},
		{"media ip v6", func(c *Config) { c.MediaIP = "2001:db8::1" }, ""},
		{"data empty", func(c *Config) { c.Data = "" }, "data: must not be empty"},
		{"digest md5 only", func(c *Config) { c.DigestAlgorithms = "md5" }, ""},
		{"digest sha first", func(c *Config) { c.DigestAlgorithms = "SHA-256, MD5" }, ""},
		{"digest unknown", func(c *Config) { c.DigestAlgorithms = "MD5,SHA-512-256" }, `digestAlgorithms: "SHA-512-256" is not MD5 or SHA-256`},
		{"digest twice", func(c *Config) { c.DigestAlgorithms = "MD5,md5" }, "digestAlgorithms: MD5 is listed twice"},
		{"digest empty item", func(c *Config) { c.DigestAlgorithms = "MD5," }, `digestAlgorithms: "" is not MD5 or SHA-256`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidateJoinsAll(t *testing.T) {
	c := Config{SIP: "x", HTTP: "y", Data: "d", RTPPorts: "z", LogLevel: "loud", MediaIP: "w"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate = nil")
	}
	lines := strings.Split(err.Error(), "\n")
	var keys []string
	for _, l := range lines {
		k, _, _ := strings.Cut(l, ":")
		keys = append(keys, k)
	}
	if got, want := strings.Join(keys, ","), "sip,http,rtpPorts,logLevel,mediaIp"; got != want {
		t.Errorf("fields = %s, want %s (%q)", got, want, lines)
	}
}

func TestRTPRange(t *testing.T) {
	low, high, err := Default().RTPRange()
	if err != nil || low != 20000 || high != 29999 {
		t.Fatalf("RTPRange = %d, %d, %v", low, high, err)
	}
}

func TestAlgorithms(t *testing.T) {
	for in, want := range map[string]string{"": "", "md5": "MD5", " SHA-256 , MD5 ": "SHA-256,MD5"} {
		got, err := Config{DigestAlgorithms: in}.Algorithms()
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("Algorithms(%q) = %v, %v; want %q", in, got, err, want)
		}
	}
}
