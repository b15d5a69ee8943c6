# duet: `make run` starts a server with a self-signed certificate for localhost; `make test` runs every test.
GO       ?= go
NPM      ?= npm
VENDORED := web/vendor/socket.io.esm.min.js web/vendor/uPlot.esm.js web/vendor/uPlot.min.css web/vendor/fix-webm-duration.js web/vendor/noble/sha2.js

.PHONY: all build run test test-deps vet jscheck jstest fuzz clean

all: build

# Browser libraries come from npm (package-lock.json) and are embedded, never committed.
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error

$(VENDORED): node_modules/.package-lock.json
	mkdir -p web/vendor
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js web/vendor/
	cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css web/vendor/
	cp node_modules/fix-webm-duration/fix-webm-duration.js web/vendor/
	mkdir -p web/vendor/noble
	cp node_modules/@noble/hashes/sha2.js node_modules/@noble/hashes/_md.js node_modules/@noble/hashes/_u64.js node_modules/@noble/hashes/utils.js web/vendor/noble/

# -s -w drop the symbol table and DWARF (stack traces and pprof keep function names); nomsgpack leaves
# out gin's MessagePack binding, which duet never uses and which links ugorji/go's codecs (about 6 MB).
BUILDFLAGS := -trimpath -tags nomsgpack -ldflags='-s -w'

build: $(VENDORED)
	$(GO) build $(BUILDFLAGS) -o bin/duet ./cmd/duet

run: build
	./bin/duet

# Installs what the tests drive duet with (Chromium, coturn's client) when missing.
test-deps:
	bash scripts/test-deps.sh

vet: $(VENDORED)
	$(GO) vet ./...

# The page's JavaScript: type-checked from its JSDoc (jsconfig.json), its pure modules unit-tested with node --test.
jscheck: node_modules/.package-lock.json
	node_modules/.bin/tsc -p jsconfig.json

jstest: node_modules/.package-lock.json
	node --test web/jstest/

test: build test-deps vet jscheck jstest
	$(GO) test -race -count=1 -timeout 12m ./...

clean:
	rm -rf bin web/vendor node_modules

# The benchmark suite against Node socket.io and coturn (BENCHMARKS.md); about 10 minutes.
.PHONY: bench
bench:
	bash scripts/bench.sh
