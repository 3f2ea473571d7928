package robust

// The tenant the tests provision: two users and the domain contoso.com.
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
