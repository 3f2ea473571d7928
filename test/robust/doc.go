// Package robust holds Switchboard's black-box robustness and security
// tests: the RFC 4475 torture messages and the PROTOS c07-sip suite sent to
// a running binary, extension enumeration with sipvicious, identical
// answers for known and unknown users, and topology hiding between the
// legs of a call.
//
// The corpora are read from ../shared/testdata (next to the project's root;
// SWITCHBOARD_TESTDATA overrides it). Every test that needs the binary or a
// real peer (sipp, sipvicious) is skipped with -short; TestMain builds
// ./cmd/switchboard once (with -race when the tests run with -race), unless
// SWITCHBOARD_E2E_BIN names a binary to test instead. All traffic goes to
// 127.0.0.1.
package robust
