# SPDX-License-Identifier: MIT
# The two commands a newcomer needs: `make run` and `make test`. `make` alone builds build/rtkd.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Node.js 20 that the bootstrap installs into tools/node when the machine's node is older.
export PATH := $(CURDIR)/tools/node/node_modules/.bin:$(PATH)
RTKD_DATA ?= ./var
RTKD_LISTEN ?= 127.0.0.1:8080

.PHONY: all build run test unit e2e lint fuzz fuzz-smoke bench bootstrap clean format install man \
	example cluster

# `make install PREFIX=/usr/local DESTDIR=/tmp/stage`: the tree it makes is in docs/deploy.md.
PREFIX ?= /usr/local
DESTDIR ?=

all: build

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTK_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS) --target rtkd

bootstrap:
	@scripts/bootstrap.sh

run:
	@scripts/bootstrap.sh build
	@$(MAKE) --no-print-directory build
	build/rtkd serve --dev --listen $(RTKD_LISTEN) --data $(RTKD_DATA)

# examples/quickstart.mjs against a server that scripts/example.sh starts and stops.
example:
	@scripts/bootstrap.sh example
	@$(MAKE) --no-print-directory build
	@scripts/example.sh

# Three dev nodes on one PostgreSQL and one Redis, all in a temporary folder, until Ctrl-C
# (scripts/cluster.sh; docs/cluster.md). RTKD_CLUSTER_PORTS="8081 8082 8083" by default.
cluster:
	@scripts/bootstrap.sh cluster
	@$(MAKE) --no-print-directory build
	@scripts/cluster.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d
	install -m 0755 build/rtkd $(DESTDIR)$(PREFIX)/bin/rtkd
	install -m 0644 contrib/rtkd.1 $(DESTDIR)$(PREFIX)/share/man/man1/rtkd.1
	sed 's|/usr/local/bin/rtkd|$(PREFIX)/bin/rtkd|' contrib/rtkd.service \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/rtkd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/rtkd.service
	install -m 0644 contrib/rtkd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/rtkd.conf

# The man page is written from `rtkd --help` (tests/e2e/test/80-install checks it is current).
man: build
	scripts/gen-man.sh build/rtkd > contrib/rtkd.1

# Tests run on a sanitizer build (ASan + UBSan) with warnings as errors.
test:
	@scripts/bootstrap.sh
	@cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DRTK_SANITIZE=address,undefined \
	    -DRTK_WERROR=ON -DRTK_TESTS=ON >/dev/null
	@cmake --build build-test -j $(JOBS)
	@echo "test: release build with warnings as errors (optimiser-only warnings)"
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTK_TESTS=OFF -DRTK_WERROR=ON >/dev/null
	@cmake --build build -j $(JOBS) --target rtkd
	@$(MAKE) --no-print-directory lint unit e2e fuzz-smoke

# Static analysis with the project's settings (.clang-tidy; cppcheck flags here): findings fail.
lint:
	@echo "lint: cppcheck"
	@cppcheck --enable=warning,portability,performance --std=c11 --inline-suppr --quiet \
	    --error-exitcode=1 --suppress=missingIncludeSystem --suppress=missingInclude -Isrc src
	@echo "lint: clang-tidy"
	@ls src/*.c src/*/*.c | xargs -P $(JOBS) -n 4 clang-tidy -p build-test --quiet 2>/dev/null \
	    | grep -E '(error|warning):' && exit 1 || true

unit:
	cd build-test && ctest --output-on-failure --no-tests=error

# The whole suite runs twice: on SQLite, then on a PostgreSQL server that run.js starts.
e2e:
	cd tests/e2e && RTKD_BIN=$(CURDIR)/build-test/rtkd npm test
	cd tests/e2e && RTKD_BIN=$(CURDIR)/build-test/rtkd RTKD_E2E_STORE=postgres npm test

# libFuzzer harnesses (fuzz/): `make fuzz` runs each for 60 s; `make test` runs each for a
# short smoke time so that a regression fails CI.
fuzz:
	fuzz/run.sh 60

fuzz-smoke:
	fuzz/run.sh $${RTK_FUZZ_SECONDS:-15}

# Benchmarks (bench/): rewrites BENCHMARKS.md; bounded, about 3 minutes on 2 cores.
bench:
	bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-test build-fuzz build-bench
