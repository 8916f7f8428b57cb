# Everything the project needs is installed from here: only Node.js >= 20 and npm are assumed.
NPM ?= npm
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= .orloj

# better-sqlite3 compiles against Node's headers when no prebuilt binary can be fetched:
# point node-gyp at the headers installed beside this node instead of downloading them.
NODE_PREFIX := $(shell node -p "require('path').resolve(process.execPath, '../..')")
ifneq ($(wildcard $(NODE_PREFIX)/include/node/node.h),)
export npm_config_nodedir ?= $(NODE_PREFIX)
endif

.PHONY: all install build run test fuzz crds bench crash-test clean

all: build

node_modules/.install-stamp: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.install-stamp

# From a clean dist/: a removed source (or test) must not live on as stale output.
build: install
	rm -rf dist
	npx tsc -p tsconfig.json
	@chmod +x dist/cmd/orlojd.js dist/cmd/orlojctl.js 2>/dev/null || true

run: build
	node dist/cmd/orlojd.js --listen $(LISTEN) --data-dir $(DATA_DIR)

test: build
	npx mocha

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

clean:
	rm -rf dist node_modules $(DATA_DIR)
