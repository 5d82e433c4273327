# Latch: the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
MODULES := pkg proto services/auth services/tasks services/gateway deploy faults
# Lint covers the bench programs too; their tests are the benchmarks themselves (make bench).
LINT_MODULES := $(MODULES) bench/gateway bench/grpc bench/tasks
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/test?sslmode=disable
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
export TEST_DATABASE_URL TEST_REDIS_URL
# The Go release every build and test uses (fetched through the module proxy like a module).
export GOTOOLCHAIN := go1.27.3

.PHONY: run build test test-go test-compat check-services fuzz bench bench-auth bench-tasks bench-gateway bench-grpc bench-revocation lint clean proto

## run: start the system on embedded defaults (SQLite files, in-process caches, a generated secret, all in ./.data)
# Auth's public base URL is the gateway's origin: its cookies, trusted origin and the JWTs' iss/aud are
# http://localhost:3000, where the browser is; tasks checks that iss/aud and reads the JWKS from auth directly.
# tasks and the gateway start once auth listens (at most 10 s), so tasks' first JWKS fetch finds it (compose
# orders them the same way with depends_on: service_healthy).
# The account page's change-email and delete-account forms need these on in auth (off by default, as in Better Auth).
run: export CHANGE_EMAIL_ENABLED ?= true
run: export DELETE_USER_ENABLED ?= true
run: build
	@echo "open:  http://localhost:3000   (gateway: web UI, /api/auth/* and /api/tasks*)"
	@echo "auth:  http://localhost:3001/api/auth/ok   tasks: http://localhost:8000/api/tasks   tasks gRPC: localhost:9000 (bin/taskctl)"
	@echo "data:  ./.data   (Ctrl-C stops all three)"
	@echo "mail:  ./.data/outbox.jsonl   (verification, password-reset, change-email, 2FA code and invitation mails, one JSON object per line)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	PORT=3001 BETTER_AUTH_URL=$${BETTER_AUTH_URL:-http://localhost:3000} SEND_VERIFICATION_ON_SIGN_UP=$${SEND_VERIFICATION_ON_SIGN_UP:-true} AUTH_PLUGINS=$${AUTH_PLUGINS-two-factor,organization} $(BIN)/auth serve & \
	for _ in $$(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/3001) 2>/dev/null && break; sleep 0.1; done; \
	PORT=8000 BETTER_AUTH_URL=$${BETTER_AUTH_URL:-http://localhost:3000} JWKS_URL=$${JWKS_URL:-http://localhost:3001/api/auth/jwks} $(BIN)/tasks serve & \
	PORT=3000 AUTH_URL=http://localhost:3001 TASKS_URL=http://localhost:8000 $(BIN)/gateway serve & \
	wait

## build: build every service binary into ./bin
build:
	@mkdir -p $(BIN)
	cd services/auth && $(GO) build -o $(BIN)/auth .
	cd services/tasks && $(GO) build -o $(BIN)/tasks .
	cd services/tasks && $(GO) build -o $(BIN)/taskctl ./cmd/taskctl
	cd services/gateway && $(GO) build -o $(BIN)/gateway .

## test: lint, every module's tests against the real PostgreSQL and Redis, then the Better Auth compatibility suite
test: check-services lint test-go test-compat

check-services:
	@scripts/check-services

test-go:
	@set -e; for m in $(MODULES); do echo "== go test $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

test-compat: build
	@echo "== Better Auth compatibility suite (services/auth/compat)"
	cd services/auth/compat && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && LATCH_AUTH_BIN=$(BIN)/auth npm test
	@echo "== the migration and the organization plugin again, with Better Auth running outside UTC (DATABASE_TIMEZONE)"
	cd services/auth/compat && TZ=America/Sao_Paulo LATCH_AUTH_BIN=$(BIN)/auth node --test --test-concurrency=1 migration.test.mjs organization.test.mjs

## fuzz: run every fuzz target for FUZZTIME each, one after the other (docs/fuzzing.md). `make test`
# runs the same targets on their seed corpora only (f.Add seeds and testdata/fuzz/<target>/).
# FUZZFLAGS passes more flags to go test, e.g. FUZZFLAGS=-parallel=1 on a shared machine.
FUZZTIME ?= 30s
FUZZFLAGS ?=
# module:package:target, one per line.
FUZZ_TARGETS := \
	pkg:./authn:FuzzVerifyToken \
	pkg:./authn:FuzzVerifyClaims \
	services/auth:./httpapi:FuzzRedirectLocation \
	pkg:./signedcookie:FuzzVerify \
	pkg:./signedcookie:FuzzSessionCookie \
	pkg:./signedcookie:FuzzEncodeValue \
	services/auth:./sealedbox:FuzzOpen \
	services/auth:./sealedbox:FuzzSealOpen \
	services/auth:./password:FuzzVerify \
	services/auth:.:FuzzVersionedSecrets \
	services/auth:.:FuzzAuthBodies \
	services/auth:./mail:FuzzSMTPSend \
	services/auth:./mail:FuzzOutboxSend \
	services/tasks:.:FuzzTaskBodies \
	services/tasks:.:FuzzTaskQuery

# Every target runs even when an earlier one fails; the failures are listed at the end. A target
# missing from FUZZ_TARGETS fails the run.
fuzz: check-services
	@failed=; listed=; \
	for t in $(FUZZ_TARGETS); do \
		IFS=: read -r mod pkg name <<< "$$t"; dir="$$mod/$${pkg#./}"; listed="$$listed $${dir%/.}:$$name"; \
	done; \
	for f in $$(git grep -l '^func Fuzz' -- '*_test.go'); do \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			case "$$listed " in *" $$(dirname $$f):$$name "*) ;; *) failed="$$failed $$f:$$name(not-in-FUZZ_TARGETS)";; esac; \
		done; \
	done; \
	for t in $(FUZZ_TARGETS); do \
		IFS=: read -r mod pkg name <<< "$$t"; \
		echo "== fuzz $$mod $$pkg $$name for $(FUZZTIME)"; \
		(cd $$mod && $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg) || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz failures:$$failed"; exit 1; fi

## bench: performance figures, side by side with Better Auth (see bench/README.md)
bench: bench-auth bench-tasks bench-gateway bench-grpc

bench-auth: build
	cd bench/auth && ./run

bench-tasks: build
	cd bench/tasks && ./run

## bench-revocation: revocation and demotion latency at 3 tasks replicas under wrk, and throughput with 10,000 revoked sessions
bench-revocation:
	cd bench/revocation && flock /tmp/latch-bench.lock ./run

## bench-grpc: GetTask over gRPC beside GET /api/tasks/{id} over REST, same process, tokens and load generator
bench-grpc:
	cd bench/grpc && flock /tmp/latch-bench.lock ./run

## proto: regenerate proto/'s Go code (protoc from apt's protobuf-compiler; plugins pinned in proto/go.mod)
proto:
	proto/generate

bench-gateway: build
	cd bench/gateway && ./run

## lint: gofmt, go vet and staticcheck over every module, bench included. staticcheck's version is
# pinned by the tool directive in lint/go.mod (a module of its own, outside go.work, so its
# dependencies never change the services' builds); it is fetched through the module proxy.
lint:
	@echo "== gofmt"
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt -w these files:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@mkdir -p $(BIN)
	@cd lint && GOWORK=off $(GO) build -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck
	@set -e; for m in $(LINT_MODULES); do echo "== go vet, staticcheck $$m"; (cd $$m && $(GO) vet ./... && $(BIN)/staticcheck ./...); done

clean:
	rm -rf $(BIN)
