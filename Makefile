# Everything the project needs is installed from here: only Node.js >= 20 and npm are assumed.
NPM ?= npm
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= .orloj

.PHONY: all install build run test crds bench crash-test clean

all: build

node_modules/.install-stamp: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.install-stamp

build: install
	npx tsc -p tsconfig.json
	@chmod +x dist/cmd/orlojd.js dist/cmd/orlojctl.js 2>/dev/null || true

run: build
	node dist/cmd/orlojd.js --listen $(LISTEN) --data-dir $(DATA_DIR)

test: build
	npx mocha

crds: build
	node dist/cmd/gen-crds.js crds

clean:
	rm -rf dist node_modules $(DATA_DIR)
