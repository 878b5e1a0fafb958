# ttygate — thin wrappers over scripts/ and npm scripts. `make help` lists the targets.
.PHONY: help setup build test test-unit run run-emulator e2e bench image clean

help:
	@echo "make run     serve the gateway with its embedded default (demo-linux VM, self-signed TLS, admin owner)"
	@echo "make test    install what is needed, build, run every test"
	@echo "make setup   apt packages, npm ci, build, guest image (idempotent)"
	@echo "make build   type-check and compile every workspace"
	@echo "make image   (re)build the Linux guest image (cached by content hash)"
	@echo "make e2e     browser end-to-end tests only (Playwright in Debian's Chromium, real QEMU guests)"
	@echo "make bench   console benchmarks against the direct-pty baseline (bench/README.md)"
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
	node gateway/bin/ttygate.js serve

# The previous `make run`: the demo guest's console straight in this terminal, no gateway.
run-emulator: setup
	node emulator/bin/ttygate-emu.js run --image linux --name demo-linux --attach

e2e: setup
	@cd e2e && node ../scripts/run-tests.mjs tests

bench: setup
	node --import tsx bench/run.ts

clean:
	npx tsc -b --clean
	rm -rf web/dist e2e/artifacts
