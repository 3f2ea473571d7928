// Package arch holds the test that keeps the dependency rule of
// ARCHITECTURE.md true: domain packages import only each other and the
// standard library (plus a few pure libraries), never SIP, SQL or HTTP.
package arch
