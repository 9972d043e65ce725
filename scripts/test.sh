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
echo "== cargo test"
cargo test --workspace --locked
