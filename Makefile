# drover — see README.md. Every target works from a fresh clone.
GO        ?= go
BIN       ?= bin/drover
FUZZTIME  ?= 20s
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(shell $(GO) env GOPATH)/bin/staticcheck)
# Pinned: a function nothing calls (outside tests) fails lint the day it stops being called.
# internal/testenv and testpki are test support: only tests call them, by design.
DEADCODE  ?= $(GO) run golang.org/x/tools/cmd/deadcode@v0.52.0

.PHONY: build demo test e2e bench fuzz-short lint clean deb

# Static (no cgo): every child starts through a re-exec of this binary, which
# starts faster unlinked, and a root shim must not honour LD_PRELOAD.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/drover

# The newcomer's first command: drover on its built-in demo config, in the foreground.
demo: build
	$(BIN) demo

# Tests that skip because a peer (supervisorctl, python3, the config corpus...)
# is missing or the run is not root append a line to SKIP_LOG (internal/testenv);
# test and e2e list them after the run and keep go test's exit status.
SKIP_LOG = $(CURDIR)/bin/skipped-$@.txt

# Unit and integration tests with the race detector (real processes; the few
# that use a peer or root skip without it, and are listed at the end).
test:
	@mkdir -p $(dir $(SKIP_LOG)); rm -f $(SKIP_LOG)
	DROVER_SKIP_LOG=$(SKIP_LOG) $(GO) test -race -count=1 ./...; \
	status=$$?; scripts/skip-summary.sh $(SKIP_LOG); exit $$status

# End-to-end suites against real peers (supervisorctl, supervisord, unicorn, puma,
# gunicorn, starman): tests tagged e2e and named TestE2E*, in any package.
# The zero-downtime suite's side-by-side summary is printed at the end.
ZD_REPORT ?= $(CURDIR)/bin/zero-downtime-report.txt
e2e: build
	@rm -f $(ZD_REPORT) $(SKIP_LOG)
	DROVER_ZD_REPORT=$(ZD_REPORT) DROVER_SKIP_LOG=$(SKIP_LOG) $(GO) test -race -count=1 -tags e2e -run 'E2E' -timeout 30m ./...; \
	status=$$?; if [ -f $(ZD_REPORT) ]; then echo "== zero-downtime, drover and supervisord side by side"; cat $(ZD_REPORT); fi; \
	scripts/skip-summary.sh $(SKIP_LOG); exit $$status

# Side-by-side measurements against supervisord 4.2.5; prints one table with ratios.
bench: build
	bench/run.sh

# Every fuzz target for a short while (CI); run one longer with FUZZTIME=10m.
fuzz-short:
	scripts/fuzz-all.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	$(STATICCHECK) ./...
	@out=$$($(DEADCODE) ./...) || { echo "deadcode failed"; exit 1; }; \
	out=$$(printf '%s\n' "$$out" | grep -v -e '^internal/testenv/' -e '^internal/testpki/' -e '^$$'); if [ -n "$$out" ]; then echo "dead code (unreachable outside tests):"; echo "$$out"; exit 1; fi

# Debian packages (dpkg-deb only) into bin/: drover and drover-supervisor-compat.
# VERSION defaults to the version compiled into the binary.
VERSION ?= $(shell sed -n 's/^var Version = "\(.*\)"/\1/p' internal/cli/run.go)
DEB_OUT ?= bin
deb:
	VERSION=$(VERSION) GO=$(GO) OUT=$(DEB_OUT) packaging/deb/build.sh

clean:
	rm -rf bin
