# The suite's entry points. `make e2e` goes from a bare machine to a report;
# `make test` runs the unit tests (no cluster, seconds).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := help

ARTIFACTS ?= $(CURDIR)/_artifacts
KUBERNETES_VERSION ?= $(shell cat scripts/images/node/default-kubernetes-version)
LABEL_FILTER ?=
PROCS ?= 5
GINKGO_TIMEOUT ?= 80m
GINKGO_ARGS ?=
E2E_ARGS ?=
# MODE=quick|non-disruptive|certified: a named selection (framework/modes.go)
MODE ?=
# The launcher (scripts/internal/launch) reads one name per setting, the conformance
# image's: the short names above are make's spelling of them.
export E2E_MODE := $(or $(MODE),$(E2E_MODE))
export E2E_PARALLEL := $(or $(E2E_PARALLEL),$(PROCS))
export E2E_LABEL_FILTER := $(or $(LABEL_FILTER),$(E2E_LABEL_FILTER))
export E2E_GINKGO_TIMEOUT := $(or $(E2E_GINKGO_TIMEOUT),$(GINKGO_TIMEOUT))
export E2E_EXTRA_GINKGO_ARGS := $(or $(GINKGO_ARGS),$(E2E_EXTRA_GINKGO_ARGS))
export E2E_EXTRA_ARGS := $(or $(E2E_ARGS),$(E2E_EXTRA_ARGS))
export ARTIFACTS KUBERNETES_VERSION

.PHONY: images-push hydrophone e2e-hydrophone images-list product-check help host node-image workload-image images cluster cluster-delete cluster-logs e2e e2e-run e2e-matrix e2e-repeat e2e-selftest selftest-kubelet suite-image e2e-in-cluster e2e-rerun-failed e2e-dry-run bench test vet

help: ## list targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

host: ## prepare this machine: Docker engine (installed on Debian if missing), inotify limits
	@bash scripts/host-prepare.sh

node-image: host ## build (or reuse) the offline kind node image for KUBERNETES_VERSION
	@bash scripts/images/node.sh | tail -1

workload-image: host ## build the suite's workload image
	@bash scripts/images/workload.sh | tail -1

$(ARTIFACTS):
	@mkdir -p $@

# The node image: NODE_IMAGE if set, kind's published one if pullable, else built offline.
images: host $(ARTIFACTS) ## choose or build the node image and build the workload image
	@start=$$SECONDS; img=$$(TIMINGS_FILE=$(ARTIFACTS)/timings.txt bash scripts/select-node-image.sh | tail -1); \
	echo "node-image $$((SECONDS-start))" >>$(ARTIFACTS)/timings.txt; echo "$$img" >$(ARTIFACTS)/node-image; \
	bash scripts/images/workload.sh | tail -1 >$(ARTIFACTS)/workload-image; echo "node image: $$img"

cluster: images ## create or reuse the default cluster; kubeconfig in $(ARTIFACTS)/kubeconfig
	@t=$$SECONDS; NODE_IMAGE=$$(cat $(ARTIFACTS)/node-image) WORKLOAD_IMAGE=$$(cat $(ARTIFACTS)/workload-image) \
	go run ./scripts/cmd/cluster up; echo "cluster-up $$((SECONDS-t))" >>$(ARTIFACTS)/timings.txt

cluster-delete: ## delete the cluster
	@go run ./scripts/cmd/cluster down

cluster-logs: ## kind export logs into $(ARTIFACTS)/kind-logs
	@go run ./scripts/cmd/cluster logs

# A PRODUCT.yaml (E2E_PRODUCT_FILE) is checked by the CNCF bot's rules before anything is built.
product-check:
	@if [ -n "$${E2E_PRODUCT_FILE:-}" ]; then go run ./scripts/cmd/report product "$$E2E_PRODUCT_FILE"; fi

# The suite creates the cluster (or reuses a healthy one, e.g. from `make cluster`),
# and deletes a cluster it created unless E2E_KEEP_CLUSTER=true.
e2e: product-check images ## the main job: host, node image, cluster, every spec, reports in $(ARTIFACTS)
	@$(MAKE) --no-print-directory e2e-run

# Ginkgo's merged JSON is the complete record of a parallel run: the report is
# rendered from it after Ginkgo exits (also after Ctrl-C or SIGTERM), and the exit
# code stays Ginkgo's (130/143 when interrupted). See scripts/cmd/e2e.
e2e-run: $(ARTIFACTS) ## run the suite against the configured cluster (no image builds): report in $(ARTIFACTS)
	@bash scripts/e2e-run.sh

e2e-matrix: host ## the suite on every supported Kubernetes version (VERSIONS="v1.35.8 ..."), one cluster at a time; matrix page in $(ARTIFACTS)/matrix
	@bash scripts/e2e-matrix.sh

selftest-kubelet: ## the self-test's kubelet (the node's version with fixtures/failure-injection/kubelet/dsconform_fault.go.txt) into _bin/selftest-kubelet
	@bash scripts/selftest-kubelet.sh $(KUBERNETES_VERSION) $(CURDIR)/_bin/selftest-kubelet

e2e-selftest: cluster selftest-kubelet ## the fault matrix: break the cluster per fixtures/failure-injection/faults.yaml, check the predicted specs fail (SELFTEST_CLUSTERS=2: two clusters at once); $(ARTIFACTS)/selftest/sensitivity.html
	@go run ./scripts/cmd/selftest

suite-image: host ## build the suite image (compiled suite, ginkgo, suite-runner; non-root), offline like the workload image
	@bash scripts/images/suite.sh | tail -1

e2e-in-cluster: cluster ## run the suite image as a Job in the default cluster; results copied to $(ARTIFACTS)/in-cluster
	@SUITE_IMAGE=$$(bash scripts/images/suite.sh | tail -1) WORKLOAD_IMAGE=$$(cat $(ARTIFACTS)/workload-image) go run ./scripts/cmd/incluster

HYDROPHONE_VERSION ?= v0.8.0
hydrophone: ## build Hydrophone (sigs.k8s.io/hydrophone) from its Go module into _bin/
	@GOBIN=$(CURDIR)/_bin go install sigs.k8s.io/hydrophone@$(HYDROPHONE_VERSION)

e2e-hydrophone: cluster hydrophone ## run the suite image with Hydrophone on the default cluster (MODE=quick|non-disruptive|certified); e2e.log and junit in $(ARTIFACTS)/hydrophone/<mode>
	@bash scripts/e2e-hydrophone.sh

images-list: images ## every image the suite needs (node, workload, suite, busybox), one per line, for air-gapped registries
	@cat $(ARTIFACTS)/node-image $(ARTIFACTS)/workload-image; bash scripts/images/suite.sh | tail -1; bash scripts/images/busybox.sh | tail -1

images-push: images ## air-gapped registries: retag and push every image to REGISTRY=host[:port][/path]; Job, Sonobuoy plugin and Hydrophone command pointing there in $(ARTIFACTS)/airgap
	@bash scripts/images-push.sh

N ?= 5
e2e-repeat: images ## the suite N times on one cluster (N=5); per-spec pass counts and durations in $(ARTIFACTS)/repeat/repeat.md
	@N=$(N) bash scripts/e2e-repeat.sh

e2e-rerun-failed: ## re-run only the specs that failed in $(ARTIFACTS)/report.json
	@filter=$$(go run ./scripts/cmd/report failed-filter $(ARTIFACTS)/report.json); \
	$(MAKE) --no-print-directory e2e-run LABEL_FILTER="$$filter"

bench: ## run the suite on the configured cluster (as e2e-run) and print its benchmark: wall time, longest spec, ratio, Serial/parallel sums, CPU use
	@$(MAKE) --no-print-directory e2e-run; s=$$?; go run ./scripts/cmd/report bench $(ARTIFACTS)/report.json; exit $$s

e2e-dry-run: ## list the specs and requirements that would run, touching no cluster
	@E2E_DRYRUN=true bash scripts/e2e-run.sh

test: ## unit tests of the framework's own logic (no cluster), gofmt and go vet
	@bash scripts/test-deps.sh
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting (run gofmt -w): $$unformatted"; exit 1; fi
	@go vet ./...
	@go test $$(go list ./... | grep -v /suites/e2e)

vet: ## go vet
	@go vet ./...
