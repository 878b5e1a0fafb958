# ttygate — thin wrappers over scripts/ and npm scripts. `make help` lists the targets.
.PHONY: help setup build test test-unit run e2e bench image clean

help:
	@echo "make run     boot the demo Linux guest and attach this terminal to its serial console"
	@echo "make test    install what is needed, build, run every test"
	@echo "make setup   apt packages, npm ci, build, guest image (idempotent)"
	@echo "make build   type-check and compile every workspace"
	@echo "make image   (re)build the Linux guest image (cached by content hash)"
	@echo "make e2e     browser end-to-end tests (arrive with the web console)"
	@echo "make bench   benchmarks (arrive with the gateway)"
	@echo "make clean   remove build output"

setup:
	@scripts/setup.sh

build:
	npm run build

image: setup
	node emulator/bin/ttygate-emu.js image build linux

test: setup
	@scripts/test.sh

test-unit: setup
	@scripts/test.sh --unit

run: setup
	node emulator/bin/ttygate-emu.js run --image linux --name demo-linux --attach

e2e: setup
	@echo "e2e: the Playwright suite arrives with the web console (issue 5); nothing to run yet" >&2

bench: setup
	@echo "bench: the console benchmarks arrive with the gateway (issue 3); nothing to run yet" >&2

clean:
	npx tsc -b --clean
