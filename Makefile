# Switchboard — build and test entry points. `make test` is the one command
# that runs every test; on Debian it first installs the real SIP peers the
# end-to-end tests drive (and the C toolchain -race needs) when missing.

GO           ?= go
TEST_TIMEOUT ?= 20m

# command:package[+package...] — a Debian package installed when the command
# (or, for an absolute path, the file) is missing. The race detector needs
# cgo, hence gcc and libc6-dev. Kamailio plays a customer's SBC over TLS.
RACE_TOOLS   := gcc:gcc+libc6-dev
KAMAILIO_TLS := /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so
PEERS        := sipp:sip-tester svwar:sipvicious baresip:baresip $(KAMAILIO_TLS):kamailio+kamailio-tls-modules

.PHONY: all build vet test test-short bench fuzz peers race-toolchain

all: vet build test-short

build:
	$(GO) build ./...

vet:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need gofmt:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# Fast tier: needs nothing but Go (and a C compiler for -race).
test-short: race-toolchain
	$(GO) test -race -short ./...

# Full tier: adds real peers (SIPp) on loopback.
test: race-toolchain peers
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

# Fuzzing: every Fuzz* target in the module, one at a time, FUZZ_TIME each
# (go test -fuzz takes a single target and a single package per run). The
# seed corpora and testdata/fuzz entries also run in the plain test tiers.
# A count (Nx) rather than a duration: on a loaded machine a time-bounded
# run can end with Go's "context deadline exceeded" while a worker is still
# busy, which says nothing about the code. Each run is still bounded by
# -timeout.
FUZZ_TIME ?= 2000x

fuzz:
	@set -e; \
	targets=$$(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . | sort); \
	if [ -z "$$targets" ]; then echo "no Fuzz targets"; exit 0; fi; \
	for file in $$targets; do \
		pkg=./$$(dirname "$${file#./}"); \
		for fn in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$$file" | sed 's/^func //'); do \
			echo "fuzz $$pkg $$fn ($(FUZZ_TIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZ_TIME) -timeout 5m "$$pkg"; \
		done; \
	done

bench:
	@if [ -f bench/run.sh ]; then bash bench/run.sh; else echo "bench/run.sh not present yet: nothing to run"; fi

race-toolchain:
	@$(call install_missing,$(RACE_TOOLS))

peers:
	@$(call install_missing,$(PEERS))

# install_missing installs, with apt-get (as root, or through sudo), the
# packages of every command:package pair whose command is not on PATH.
define install_missing
missing=""; \
for pair in $(1); do \
	cmd=$${pair%%:*}; pkgs=$$(echo "$${pair#*:}" | tr '+' ' '); \
	case "$$cmd" in \
	/*) [ -e "$$cmd" ] || missing="$$missing $$pkgs" ;; \
	*) command -v "$$cmd" >/dev/null 2>&1 || missing="$$missing $$pkgs" ;; \
	esac; \
done; \
if [ -z "$$missing" ]; then exit 0; fi; \
echo "installing:$$missing"; \
if ! command -v apt-get >/dev/null 2>&1; then \
	echo "missing:$$missing — no apt-get here, install them by hand" >&2; exit 1; \
fi; \
sudo=""; \
if [ "$$(id -u)" != 0 ]; then \
	if command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	else echo "missing:$$missing — not root and no sudo, install them by hand" >&2; exit 1; fi; \
fi; \
$$sudo apt-get update && \
$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing
endef
