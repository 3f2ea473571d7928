package e2e

import (
	"testing"
	"time"
)

// The tenant every end-to-end test provisions.
const (
	domain        = "contoso.com"
	alicePassword = "s3cret-Alice"
	bobPassword   = "s3cret-Bob"

	contosoDoc = `tenant: contoso
domains: [contoso.com]
users:
  - {sipAddress: alice@contoso.com, displayName: Alice Smith, password: "s3cret-Alice", extension: "1001", lineUri: "+14255550101"}
  - {sipAddress: bob@contoso.com, displayName: Bob Jones, password: "s3cret-Bob", extension: "1002", lineUri: "+14255550102"}
`
)

// rtpStreamKey makes uac.xml stream 2 s of PCMU silence from its media port.
func rtpStreamKey(t *testing.T) [2]string {
	t.Helper()
	return [2]string{"rtp_stream", silencePCMU(t, 2*time.Second) + ",1,0"}
}
