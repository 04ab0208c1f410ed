# Conveyor: make run (the demo on embedded defaults), make test (every test).
SHELL := /bin/bash
GO ?= go
BIN := bin
DEMO := demo
FUZZTIME ?= 1000x

.PHONY: run test build build-lambdas bench fuzz fuzz-short vet lint deploy clean lambdas build-fn

## run: the demo on embedded defaults: a messy sample export and a newer export of the same
## firm, audited, planned, a review sample, the full run (verified), the delta, then rolled back,
## all against the in-process Pipedrive sandbox (Ultimate plan limits, so it takes a minute)
DEMO_EXPORT = --matters 150 --seed 7 --messy --large-doc-bytes 27000000
DEMO_TARGET = --migration demo --sandbox --plan ultimate --state $(DEMO)/state
run: build
	rm -rf $(DEMO)
	$(BIN)/conveyor sample-export --out $(DEMO)/export $(DEMO_EXPORT)
	$(BIN)/conveyor sample-export --out $(DEMO)/export-newer $(DEMO_EXPORT) --newer 1
	@echo; echo "== audit: every row read, accepted, merged, skipped or quarantined"
	$(BIN)/conveyor audit --export $(DEMO)/export --max-flags 10
	@echo; echo "== plan: what will be written, and what it costs (nothing is written)"
	$(BIN)/conveyor run --export $(DEMO)/export $(DEMO_TARGET) --mode plan
	@echo; echo "== sample: 100 matters across types and stages, for the firm to review"
	$(BIN)/conveyor run --export $(DEMO)/export $(DEMO_TARGET) --mode sample --sample 100 --yes
	@echo; echo "== full: the rest, then every record read back and compared"
	$(BIN)/conveyor run --export $(DEMO)/export $(DEMO_TARGET) --mode full --yes
	@echo; echo "== delta: a newer export, a day later: only what changed moves"
	$(BIN)/conveyor run --export $(DEMO)/export-newer $(DEMO_TARGET) --mode delta --yes
	@echo; echo "== rollback: newest write first; the account as it was before"
	$(BIN)/conveyor rollback $(DEMO_TARGET) --yes

build:
	$(GO) build -o $(BIN)/conveyor ./cmd/conveyor

## node_modules from package-lock.json (npm writes node_modules/.package-lock.json): `npm ci`
## when it is missing or older than the lock file. Without npm, a warning and the node-based
## tests skip themselves, except on CI (CI set), where it is an error.
NODE_DEPS = node_modules/.package-lock.json
$(NODE_DEPS): package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  echo "npm ci"; npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch $@; \
	elif [ -n "$$CI" ]; then \
	  echo "npm is not installed: it is needed for node_modules (package-lock.json)" >&2; exit 1; \
	else \
	  echo "npm is not installed: the tests that need node_modules will be skipped" >&2; \
	fi

## test: a short run of every fuzz target, then every unit and integration test (the node
## dependencies first: the state machines' cross-check with aws-local-stepfunctions and asl-validator)
test: vet $(NODE_DEPS)
	$(MAKE) --no-print-directory fuzz-short
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }

## lint: gofmt, go vet, cfn-lint on the template, asl-validator on the state machines
## (from the project's node_modules: `npm ci` runs first when it is missing or stale)
lint: vet $(NODE_DEPS)
	cfn-lint template.yaml
	@set -e; for f in statemachine/*.asl.json; do echo "asl-validator $$f"; npx --no-install asl-validator --json-path $$f; done

## deploy: build every function with SAM and deploy the stack (samconfig.toml); the first
## time, run `sam build && sam deploy --guided` to answer the parameters (README: Deploy to AWS)
deploy:
	sam build
	sam deploy

## fuzz-short: every fuzz target for FUZZTIME executions each (a count, not a duration: a short timed run can end mid-minimisation with "context deadline exceeded"); `make fuzz FUZZTIME=5m` for long runs
fuzz-short fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x $$pkg >/tmp/conveyor-fuzz.log 2>&1 || { cat /tmp/conveyor-fuzz.log; exit 1; }; \
	  done; \
	done

## bench: every benchmark (audit and planning at 5,000–200,000 matters, loading at each plan's limit, the reference migration, Lambda sizes and memory), then the long chaos run
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 120m ./...
	$(GO) test -run '^$$' -bench BenchmarkReferenceMigration -benchtime 1x -timeout 60m ./internal/steps
	CONVEYOR_LONG=1 $(GO) test -count=1 -run '^TestChaos$$' -timeout 30m ./internal/steps

clean:
	rm -rf $(BIN) $(DEMO) .conveyor

## SAM builds each function with `make build-<LogicalId>` (BuildMethod: makefile), one
## target per function of template.yaml, into the ARTIFACTS_DIR it passes
LAMBDA_BUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap
SAM_FUNCTIONS = ExtractFunction SchemaFunction StagesFunction OwnersFunction SampleFunction LoadFunction \
	TransferFunction EstimateFunction VerifyFunction FinishFunction ApprovalFunction RollbackFunction TriggerFunction
.PHONY: $(addprefix build-,$(SAM_FUNCTIONS))

build-ExtractFunction:
	$(LAMBDA_BUILD) ./functions/extract
build-SchemaFunction:
	$(LAMBDA_BUILD) ./functions/schema
build-StagesFunction:
	$(LAMBDA_BUILD) ./functions/stages
build-OwnersFunction:
	$(LAMBDA_BUILD) ./functions/owners
build-SampleFunction:
	$(LAMBDA_BUILD) ./functions/sample
build-LoadFunction:
	$(LAMBDA_BUILD) ./functions/load
build-TransferFunction:
	$(LAMBDA_BUILD) ./functions/transfer
build-EstimateFunction:
	$(LAMBDA_BUILD) ./functions/estimate
build-VerifyFunction:
	$(LAMBDA_BUILD) ./functions/verify
build-FinishFunction:
	$(LAMBDA_BUILD) ./functions/finish
build-ApprovalFunction:
	$(LAMBDA_BUILD) ./functions/approval
build-RollbackFunction:
	$(LAMBDA_BUILD) ./functions/rollback
build-TriggerFunction:
	$(LAMBDA_BUILD) ./functions/trigger

## build-lambdas: every function's arm64 bootstrap under bin/lambda/<dir>/ (what `sam build` makes, without SAM)
build-lambdas: lambdas

## lambdas: every function's bootstrap under bin/lambda/<name>/
lambdas:
	@for d in functions/*/; do n=$$(basename $$d); $(MAKE) --no-print-directory build-fn FN=$$n; done

build-fn:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' -o $(BIN)/lambda/$(FN)/bootstrap ./functions/$(FN)
