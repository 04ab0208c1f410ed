# Conveyor: make run (the demo on embedded defaults), make test (every test).
SHELL := /bin/bash
GO ?= go
BIN := bin
DEMO := demo
FUZZTIME ?= 1000x

.PHONY: run test build bench fuzz fuzz-short vet lint clean

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

## test: a short run of every fuzz target, then every unit and integration test
test: vet
	$(MAKE) --no-print-directory fuzz-short
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }

## fuzz-short: every fuzz target for FUZZTIME executions each (a count, not a duration: a short timed run can end mid-minimisation with "context deadline exceeded"); `make fuzz FUZZTIME=5m` for long runs
fuzz-short fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x $$pkg >/tmp/conveyor-fuzz.log 2>&1 || { cat /tmp/conveyor-fuzz.log; exit 1; }; \
	  done; \
	done

## bench: benchmarks, including the 50,000-matter audit
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN) $(DEMO) .conveyor

## SAM builds each function with `make build-<LogicalId>` (BuildMethod: makefile)
LAMBDA_BUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap

build-ExtractFunction:
	$(LAMBDA_BUILD) ./functions/extract

## lambdas: every function's bootstrap under bin/lambda/<name>/
lambdas:
	@for d in functions/*/; do n=$$(basename $$d); $(MAKE) --no-print-directory build-fn FN=$$n; done

build-fn:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' -o $(BIN)/lambda/$(FN)/bootstrap ./functions/$(FN)
