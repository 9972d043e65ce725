#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, unit and integration tests.
# Installs nothing beyond the Rust toolchain the machine already has; later test suites that
# need services (moto) start them from here.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== the library without its optional adapters (what an API-only function links)"
cargo check -p artifact-monitor --no-default-features --locked
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# cargo prints one summary per test binary, the last often a doc-test run with none;
# close with the totals over all of them.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
