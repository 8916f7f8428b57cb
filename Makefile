# Everything the project needs is installed from here: only Node.js >= 20 and npm are assumed.
NPM ?= npm
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= .orloj
# make install puts orlojctl and orlojd in $(PREFIX)/bin ($(DESTDIR) is prepended, for packaging).
PREFIX ?= /usr/local
BINDIR = $(DESTDIR)$(PREFIX)/bin

# better-sqlite3 compiles against Node's headers when no prebuilt binary can be fetched:
# point node-gyp at the headers installed beside this node instead of downloading them.
NODE_PREFIX := $(shell node -p "require('path').resolve(process.execPath, '../..')")
ifneq ($(wildcard $(NODE_PREFIX)/include/node/node.h),)
export npm_config_nodedir ?= $(NODE_PREFIX)
endif

.PHONY: all deps build install uninstall run test postgres-server kube-apiserver fuzz crds bench crash-test clean clean-data

all: build

node_modules/.install-stamp: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

deps: node_modules/.install-stamp

# dist/ is rebuilt only when something it is built from changed since the last build: a
# source, tsconfig.json, the dependencies, or a source directory's entries (a file added or
# removed). Then from a clean dist/: a removed source (or test) must not live on as stale output.
# Directories as `DIR/.`: `test` and `bench` alone would name the phony targets.
SOURCE_DIRS := $(shell find cmd pkg test bench -path bench/results -prune -o -type d -print)
SOURCES := $(shell find cmd pkg test bench -path bench/results -prune -o -name '*.ts' -print -o -name '*.cts' -print) $(addsuffix /.,$(SOURCE_DIRS))
BUILD_STAMP = dist/.build-stamp

# orlojctl starts in one process per command, so its start-up is its speed: pkg/cli is bundled
# into one CommonJS file (dependencies stay in node_modules), minified, from tsc's output (the code
# that was type-checked), then compiled into V8's code cache that dist/cmd/orlojctl.cjs runs it from.
BUNDLE_CLI = npx esbuild dist/pkg/cli/main.js --bundle --format=cjs --platform=node --packages=external --minify \
	--define:import.meta.url=importMetaUrl '--banner:js=const importMetaUrl = require("node:url").pathToFileURL(__filename).href;' \
	--outfile=dist/cmd/orlojctl/cli.cjs --log-level=warning && \
	node -e 'require("./dist/cmd/orlojctl.cjs").writeCodeCache()'

build: $(BUILD_STAMP)

$(BUILD_STAMP): $(SOURCES) tsconfig.json node_modules/.install-stamp
	rm -rf dist
	npx tsc -p tsconfig.json
	$(BUNDLE_CLI)
	@chmod +x dist/cmd/orlojd.js dist/cmd/orlojctl.cjs 2>/dev/null || true
	@touch $@

# Each command is a short sh script that runs this checkout's dist/cmd/orlojctl.cjs (or orlojd.js) with the
# node that built it, from any directory; nothing is copied, so a later build is what runs.
# Paths are single-quoted for sh ('\'' for a quote in them), then once more for the recipe's shell.
sq = '$(subst ','\'',$(1))'
NODE_BIN := $(shell node -p process.execPath)
install: build
	@mkdir -p $(call sq,$(BINDIR))
	@for f in orlojctl.cjs orlojd.js; do c=$${f%.*}; \
	  printf '#!/bin/sh\n# %s, installed by make install from %s\nexec %s %s "$$@"\n' "$$c" $(call sq,$(CURDIR)) \
	    $(call sq,$(call sq,$(NODE_BIN))) $(call sq,$(call sq,$(CURDIR)/dist/cmd/))"$$f" > $(call sq,$(BINDIR))/"$$c.tmp" && \
	  chmod 755 $(call sq,$(BINDIR))/"$$c.tmp" && mv -f $(call sq,$(BINDIR))/"$$c.tmp" $(call sq,$(BINDIR))/"$$c" && \
	  echo "installed "$(call sq,$(BINDIR))"/$$c" || exit 1; \
	done

uninstall:
	rm -f $(call sq,$(BINDIR))/orlojctl $(call sq,$(BINDIR))/orlojd

run: build
	node dist/cmd/orlojd.js --listen $(LISTEN) --data-dir $(DATA_DIR)

# The whole suite on SQLite (the store conformance suite on PostgreSQL too), then the
# end-to-end delivery, document, trigger, hydration and promotion tests again on PostgreSQL.
# Both run even when the first fails, so every failure shows.
PG_E2E = dist/test/receiver/deliveries.test.js dist/test/receiver/crash.test.js dist/test/receiver/run-task-history.test.js dist/test/receiver/inbound/*.test.js \
	dist/test/documents/*.test.js dist/test/trigger/*.test.js \
	dist/test/hydration/hydration.test.js dist/test/hydration/retries.test.js dist/test/hydration/crash.test.js \
	dist/test/hydration/merge.test.js dist/test/hydration/concurrency.test.js \
	dist/test/promotion/promote.test.js dist/test/promotion/validation.test.js dist/test/promotion/crash.test.js
test: build postgres-server kube-apiserver
	npx mocha; sqlite=$$?; ORLOJ_TEST_STORAGE=postgres npx mocha --no-config --timeout 30000 $(PG_E2E); exit $$((sqlite || $$?))

# The tests start their own throwaway PostgreSQL (test/helpers/postgres.ts) from its initdb, so only
# the binaries are needed: installed here when neither PATH nor /usr/lib/postgresql/*/bin has them.
postgres-server:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  sudo=; if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# The Kubernetes-mode tests start their own kube-apiserver (test/helpers/kube.ts) through the
# cluster script test/kube-apiserver finds; its first run builds the binary (minutes, then
# cached), so that happens here rather than inside a test's hook, and so does etcd's install.
kube-apiserver:
	@test/kube-apiserver build
	@command -v etcd >/dev/null || { \
	  sudo=; if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server; }

# The fuzz suite (test/fuzz), which make test runs for 15 s, for longer; FUZZ_SEED=n replays a run.
FUZZ_SECONDS ?= 600
fuzz: build
	FUZZ_SECONDS=$(FUZZ_SECONDS) npx mocha --no-config --timeout 0 'dist/test/fuzz/**/*.test.js'

crds: build
	node dist/cmd/gen-crds.js crds

# Ingest benchmark: wrk replays pre-signed deliveries (installed here if missing; the bench
# falls back to autocannon when that fails). Results land in bench/results/.
bench: build
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || echo "wrk could not be installed: the bench falls back to autocannon"
	node dist/bench/run.js

# kill -9 orlojd repeatedly under a retrying sender; fails if an acked event lost its task or got two.
crash-test: build
	node dist/bench/crash-test.js

# The build and the dependencies; the data dir (resources, tokens, the encryption key) stays.
clean:
	rm -rf dist node_modules

# The data dir of make run: every resource, the admin token and the Secrets' encryption key.
clean-data:
	@test -n $(call sq,$(DATA_DIR)) || { echo "DATA_DIR is empty" >&2; exit 1; }
	rm -rf $(call sq,$(DATA_DIR))
