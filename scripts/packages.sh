# odmd's Debian (bookworm) packages, in one place: sourced by scripts/setup and the Dockerfile.
# shellcheck shell=bash

# To build odmd and its tests (libcurl is for the tests only; libssl-dev brings libcrypto, whose
# HMAC-SHA256 signs list cursors and which checks the TLS certificate and key, and libssl, the TLS
# client of `odmd health https://`).
ODMD_BUILD_PACKAGES=(
    ca-certificates cmake ninja-build gcc libc6-dev pkg-config
    libmicrohttpd-dev libmongoc-dev libbson-dev libjansson-dev libpcre2-dev
    libssl-dev libcurl4-openssl-dev
)
# The local database (tools/mongo-launcher: mongo-java-server on Java 17, built with Maven,
# which needs a JDK: javac is not in the JRE).
ODMD_DATABASE_PACKAGES=(default-jre-headless default-jdk-headless maven)
# The tests' tools: the static check of docker-compose.yml (tests/compose), and curl and
# python3 for the shell-driven end-to-end tests, python3-requests for the third-party clients of
# tests/e2e/test_framing.c, wrk for the many-connections test, clang-format for lint.format;
# openssl (the command) and python3-cryptography make the keys and sign the tokens that the JWT
# tests check odmd against (tests/support/jwtmint.c, tests/support/jwt_mint.py), and the
# certificate e2e.tls serves HTTPS with; nginx is the load balancer in front of two odmd processes
# in e2e.replicas (run from a temp folder, never as a service); prometheus for its promtool
# (e2e.metrics_promtool checks a scrape of /metrics with it; the package's server is not started);
# python3-venv for the venv schemathesis is installed into (tests/checkers; Node.js for the
# OpenAPI linters must be 20.19 or later, newer than bookworm's nodejs: scripts/setup says so).
ODMD_CHECK_PACKAGES=(docker-compose curl python3 python3-requests python3-venv wrk clang-format
    openssl python3-cryptography nginx prometheus)
# Node's own fetch drives e2e.cors as a browser page's script would (tests/e2e/clients), and npm
# installs the OpenAPI checkers: Debian's, only when no `node` is on the PATH (this machine kind
# has its own Node.js).
ODMD_NODE_PACKAGES=(nodejs npm)
# The benchmark (bench/run: scripts/setup --bench): nginx for the HTTP ceiling, gnuplot-nox for
# the chart (its pngcairo terminal), wrk for the load, iproute2's ss for the stalled-connection
# watch; time (/usr/bin/time) for bench/validator/cpu.sh's CPU-time samples. Node.js and npm (the
# peers, the seeder) come with this machine kind; when `node` is missing, ODMD_NODE_PACKAGES
# brings Debian's (the peers' lock files want Node.js 20).
ODMD_BENCH_PACKAGES=(nginx gnuplot-nox wrk iproute2 time)
# The libFuzzer build (-DODMD_FUZZ=ON): scripts/setup --fuzz.
ODMD_FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# What the odmd binary needs at run time (the Docker image's last stage).
ODMD_RUNTIME_PACKAGES=(ca-certificates libmicrohttpd12 libmongoc-1.0-0 libbson-1.0-0 libjansson4 libpcre2-8-0 libssl3)
