package directory

import (
	"fmt"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// benchDirectory is 4 tenants of 2,500 users, as bench/run.sh provisions.
func benchDirectory() *Directory {
	var tenants []pbx.Tenant
	var users []pbx.User
	for t := 1; t <= 4; t++ {
		name, dom := fmt.Sprintf("bench%d", t), fmt.Sprintf("bench%d.example.com", t)
		tenants = append(tenants, pbx.Tenant{Name: name, Domains: []string{dom}})
		for i := 1; i <= 2500; i++ {
			n := (t-1)*2500 + i
			users = append(users, pbx.User{Tenant: name, SIPAddress: fmt.Sprintf("u%05d@%s", n, dom),
				Extension: fmt.Sprintf("1%05d", n), LineURI: fmt.Sprintf("+1425%07d", n)})
		}
	}
	return Build(tenants, users)
}

// BenchmarkUser is the lookup of every authenticated request.
func BenchmarkUser(b *testing.B) {
	d := benchDirectory()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := d.User("u01234@bench1.example.com"); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkResolve is the callee lookup of every call, by each kind of target.
func BenchmarkResolve(b *testing.B) {
	d := benchDirectory()
	for _, tc := range []struct{ name, target string }{
		{"extension", "101234"},
		{"number", "+14250001234"},
		{"userpart", "u01234"},
		{"address", "u01234@bench1.example.com"},
		{"miss", "999999"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			want := tc.name != "miss"
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := d.Resolve("bench1", tc.target); ok != want {
					b.Fatalf("Resolve(%q) = %v", tc.target, ok)
				}
			}
		})
	}
}

// BenchmarkBuild is the recompilation after every provisioning change.
func BenchmarkBuild(b *testing.B) {
	var tenants []pbx.Tenant
	var users []pbx.User
	for i := 1; i <= 10000; i++ {
		users = append(users, pbx.User{Tenant: "bench1", SIPAddress: fmt.Sprintf("u%05d@bench1.example.com", i),
			Extension: fmt.Sprintf("1%05d", i)})
	}
	tenants = append(tenants, pbx.Tenant{Name: "bench1", Domains: []string{"bench1.example.com"}})
	b.ReportAllocs()
	for b.Loop() {
		Build(tenants, users)
	}
}
