# premortem: every target is a thin wrapper over go commands.
# The two that matter: `make demo` and `make test` (see README.md).

GO        ?= go
BIN       := bin/premortem
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/premortem/premortem/internal/cli.version=$(VERSION)
# End-to-end tests start real control planes; give them room on 2 cores.
TESTFLAGS ?= -timeout 45m
# Style tools: gofmt from the Go in use, staticcheck pinned in tools/go.mod
# (its own module, so the tool's dependencies stay out of premortem's).
GOFMT        = $(shell $(GO) env GOROOT)/bin/gofmt
STATICCHECK  = $(GO) tool -modfile=tools/go.mod staticcheck
# Every Go file of every module in the repository (root with lab/, lab/bins/*,
# tools/): tracked or new, not ignored, still on disk.
GOFILES      = $$(git ls-files --cached --others --exclude-standard '*.go' | while read -r f; do [ -e "$$f" ] && echo "$$f"; done)

.PHONY: all examples build dist image lab-bins tools test-deps demo test unit e2e vet lint fmt docs bench bench-scan bench-agent bench-audit bench-preflight fuzz fuzz-preflight clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/premortem

# Release archives for linux and darwin, amd64 and arm64 (reproducible:
# fixed order, mtimes and owners; SOURCE_DATE_EPOCH sets the time), their
# sha256 sums and the filled krew manifest, in dist/ (docs/install.md).
dist:
	$(GO) run ./internal/dist/mkdist -version $(VERSION) -out dist

# The container image as an OCI image layout tar, bin/premortem.oci.tar,
# without a daemon or a base image: a static linux binary for IMAGE_ARCH
# and tools/image (go-containerregistry, a module of its own).
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags "-s -w -buildid= $(LDFLAGS)" -o bin/linux_$(IMAGE_ARCH)/premortem ./cmd/premortem
	cd tools/image && $(GO) run . -binary ../../bin/linux_$(IMAGE_ARCH)/premortem -arch $(IMAGE_ARCH) \
		-version $(VERSION) -revision "$$(git rev-parse HEAD 2>/dev/null)" -out ../../bin/premortem.oci.tar

# Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok
# at pinned versions into .cache/lab/bin; does nothing when they exist.
lab-bins:
	bash lab/bins/build.sh

# Builds pinned tools that are programs of their own (promtool, for the
# alert rules' tests; krew and helm, for the packaging tests) into
# .cache/tools/bin; does nothing when they exist.
tools:
	bash tools/build.sh

# Starts a lab, applies the five incident scenarios, scans it, tears it down.
demo: lab-bins build
	$(GO) run ./lab/cmd/demo -premortem $(BIN)

# Regenerates the offline example: a snapshot of the lab with every
# scenario, and its HTML report, examples/incidents.html, and the README's
# excerpt of its table at 100 columns (tests fail when the page or the
# excerpt is not what scan of the snapshot prints).
examples: lab-bins build
	$(GO) run ./lab/cmd/demo -premortem $(BIN) -save examples/incidents.json.gz
	$(GO) test ./internal/cli -run '^(TestExampleHTML|TestREADMEScanExcerpt)$$' -count=1 -update

vet:
	$(GO) vet ./...

# Style gate that CI runs before the tests: gofmt, then staticcheck (root
# module; lab/ is part of it; lab/bins/* and tools/ hold no Go packages but
# tools/image, the image builder, a module of its own: vet checks it).
lint:
	@files="$(GOFILES)"; bad=$$($(GOFMT) -l $$files) || exit 1; \
	if [ -n "$$bad" ]; then echo "not gofmt-formatted (make fmt fixes them):"; echo "$$bad"; exit 1; fi
	$(STATICCHECK) ./...
	cd tools/image && $(GO) vet ./...

# Unit and end-to-end tests (e2e against the real lab), and the alert
# rules' promtool tests.
test: lab-bins tools test-deps vet
	$(GO) test $(TESTFLAGS) ./...

# Debian's chromium and tmux for the browser and terminal tests, when missing.
test-deps:
	bash tools/test-deps.sh

unit:
	$(GO) test -short ./...

e2e: lab-bins
	$(GO) test $(TESTFLAGS) ./test/... ./lab/...

# The benchmarks that need neither a lab nor a generated log: the audit
# line parser, the pod trim, the check catalog, refs search and the restart
# planner, each on a cluster-sized snapshot built in memory.
bench:
	$(GO) test ./internal/audit -run '^$$' -bench 'Line' -benchtime 3s
	$(GO) test ./internal/kube ./internal/checks ./internal/refs ./internal/restart -run '^$$' -bench . -benchmem

# premortem audit against encoding/json into k8s.io/apiserver's audit Event:
# the parser on one core, then a generated 1 GB Metadata-level log (kept in
# $$TMPDIR; see docs/benchmarks.md).
bench-audit:
	$(GO) test ./internal/audit -run '^$$' -bench 'Line' -benchtime 3s
	$(GO) test ./internal/audit -run '^$$' -bench 'File' -benchtime 3x -timeout 30m

# One premortem scan of a large lab cluster built through the API (5,000
# nodes, 150,000 pods of ~16 KB, ConfigMaps, Secrets, Deployments, Services):
# requests by verb, bytes, wall time, peak RSS (docs/benchmarks.md). Building
# the cluster takes most of an hour on 2 cores; for a quick look:
#   make bench-scan BENCH_SCAN_FLAGS="-nodes 500 -pods 15000"
bench-scan: lab-bins build
	$(GO) run ./lab/cmd/bench-scan -premortem $(BIN) $(BENCH_SCAN_FLAGS)

# premortem agent against the same kind of cluster: time to ready, then RSS
# and requests per hour over a 10-minute steady window (docs/benchmarks.md).
# The full 5,000 nodes / 150,000 pods by default; for a quicker look:
#   make bench-agent BENCH_AGENT_FLAGS="-nodes 1000 -pods 30000 -namespaces 100"
bench-agent: lab-bins build
	$(GO) run ./lab/cmd/bench-scan -premortem $(BIN) -scans 0 -uncompressed=false -agent 10m $(BENCH_AGENT_FLAGS)

# premortem preflight weighing a namespace of 6,000 objects in the lab:
# requests, KiB received and time per preflight (docs/preflight.md).
bench-preflight: lab-bins
	$(GO) test ./test/e2e/preflight -run '^$$' -bench LargeNamespace -benchtime 5x -benchmem

# Every parser of hostile input under the fuzzer, FUZZTIME each (not in CI):
# snapshot files (JSON, YAML, gzip), protobuf pod LIST pages, audit lines
# and their scanner, Helm release records, manifests, kubeconfigs from
# ConfigMaps, argument values, API server /metrics and APF dumps (measure).
FUZZTIME ?= 30s
FUZZ_TARGETS = ./internal/kube:FuzzLoad ./internal/kube:FuzzPodPage \
	./internal/audit:FuzzParse ./internal/audit:FuzzAnalyze \
	./internal/audit:FuzzParseTarget ./internal/preflight:FuzzParseManifest \
	./internal/address:FuzzKubeconfig ./internal/address:FuzzParseQuery \
	./internal/output:FuzzText ./internal/sizelimit:FuzzParse \
	./internal/measure:FuzzParseMetrics ./internal/measure:FuzzParseDump
fuzz: fuzz-preflight
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "$(GO) test $${t%%:*} -fuzz ^$${t##*:}\$$ -fuzztime $(FUZZTIME)"; \
		$(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 1; \
	done

# Corrupt Helm release records, gzip bombs included, into the decoder.
fuzz-preflight:
	$(GO) test ./internal/preflight -run '^$$' -fuzz FuzzDecodeSecret -fuzztime $(FUZZTIME) -parallel 1

# Regenerates docs/reference/ from the check declarations, and deploy/rbac
# from the kinds they read (a test fails when either is stale).
docs:
	$(GO) generate ./internal/checks ./internal/rbac

fmt:
	$(GOFMT) -w $(GOFILES)

clean:
	rm -rf bin .cache
