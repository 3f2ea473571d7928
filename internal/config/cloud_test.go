package config

import (
	"strings"
	"testing"
)

const edgeYAML = `sip: 127.0.0.1:5080
cloud:
  api: http://127.0.0.1:8080
  sip: 127.0.0.1:5060
  tenant: contoso
  edge: redmond
  token: sbt_x_y
`

func TestCloudSection(t *testing.T) {
	c, err := Load(writeFile(t, "edge.yaml", edgeYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := Cloud{API: "http://127.0.0.1:8080", SIP: "127.0.0.1:5060", Tenant: "contoso", Edge: "redmond", Token: "sbt_x_y"}
	if c.Cloud == nil || *c.Cloud != want {
		t.Fatalf("cloud = %+v, want %+v", c.Cloud, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.ApplyEnv(func(k string) string {
		if k == EnvCloudToken {
			return "from-env"
		}
		return ""
	})
	if c.Cloud.Token != "from-env" {
		t.Errorf("token = %q, want the environment's", c.Cloud.Token)
	}

	plain, err := Load(writeFile(t, "node.yaml", "sip: 127.0.0.1:5080\n"))
	if err != nil || plain.Cloud != nil {
		t.Fatalf("a node without a cloud section: %+v %v", plain.Cloud, err)
	}
	plain.ApplyEnv(func(string) string { return "x" })
	if plain.Cloud != nil {
		t.Error("the environment made a standalone node an edge")
	}

	if _, err := Load(writeFile(t, "edge.yaml", edgeYAML+"  region: west\n")); err == nil ||
		!strings.Contains(err.Error(), "edge.yaml:8: cloud.region: unknown field") {
		t.Errorf("unknown key in cloud: %v", err)
	}
}

func TestCloudValidate(t *testing.T) {
	c := Default()
	c.Cloud = &Cloud{API: "ftp://x", SIP: "nohostport", Edge: "online"}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid cloud section accepted")
	}
	for _, want := range []string{"cloud.api:", "cloud.sip:", "cloud.tenant:", "cloud.token:", `cloud.edge: "online"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	c.Cloud = &Cloud{}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "cloud.edge: must be set") {
		t.Errorf("empty section: %v", err)
	}
}

func TestCloudTransport(t *testing.T) {
	if _, err := Load(writeFile(t, "edge.yaml", edgeYAML+"  transport: sctp\n")); err == nil ||
		!strings.Contains(err.Error(), `edge.yaml:8: cloud.transport: "sctp" is not a trunk transport`) {
		t.Errorf("bad transport: %v", err)
	}
	if _, err := Load(writeFile(t, "edge.yaml", edgeYAML+"  transport: tcp\n")); err == nil ||
		!strings.Contains(err.Error(), `edge.yaml:8: cloud.transport: "tcp" is not supported`) {
		t.Errorf("tcp transport: %v", err)
	}
	c, err := Load(writeFile(t, "edge.yaml", edgeYAML+"  transport: tls\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cloud.TrunkTransport(); got != TrunkTLS {
		t.Errorf("TrunkTransport = %q", got)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "cloud.transport: tls needs sipTls, tlsCert, tlsKey, tlsCa") {
		t.Errorf("tls without certificates: %v", err)
	}
	c.SIPTLS, c.TLSCert, c.TLSKey, c.TLSCA = "127.0.0.1:5081", "edge.pem", "edge.key", "ca.pem"
	if err := c.Validate(); err != nil {
		t.Errorf("tls with its keys: %v", err)
	}
	if (&Cloud{}).TrunkTransport() != TrunkUDP || (*Cloud)(nil).TrunkTransport() != TrunkUDP {
		t.Error("the default trunk is not udp")
	}
}
