#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, unit and integration tests.
# Installs what the tests need beyond the Rust toolchain: moto (the AWS emulator) and the
# SAM tools (aws-sam-cli, cfn-lint) into .venv, once, Debian's chromium (apt-get) and playwright-core (npm ci, into
# tests/browser) for the dashboard's browser test, and starts one moto server on a free
# loopback port for the run, stopped when the script ends whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
if ! .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "== installing moto $MOTO_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

SAM_VERSION="1.170.0"
CFN_LINT_VERSION="1.58.0"
if ! .venv/bin/sam --version 2>/dev/null | grep -q "$SAM_VERSION" \
   || ! .venv/bin/cfn-lint --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
  echo "== installing aws-sam-cli $SAM_VERSION and cfn-lint $CFN_LINT_VERSION into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "aws-sam-cli==$SAM_VERSION" "cfn-lint==$CFN_LINT_VERSION"
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian) for the dashboard's browser test"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "== installing playwright-core into tests/browser (no browser download)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi

log=$(mktemp)
moto_pid=""
cleanup() {
  if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; fi
  rm -f "$log"
}
trap cleanup EXIT

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
for _ in $(seq 1 100); do
  if .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then break; fi
  sleep 0.1
done
export ARTIFACT_MONITOR_AWS_ENDPOINT="http://127.0.0.1:$port"
echo "== moto $MOTO_VERSION on $ARTIFACT_MONITOR_AWS_ENDPOINT"

echo "== the SAM template: sam validate --lint, cfn-lint"
SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint --template template.yaml
.venv/bin/cfn-lint template.yaml infra/artifacts.yaml
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== each binary links only what it uses"
bash scripts/check-deps.sh
echo "== cargo build (the Lambda binaries the end-to-end test runs)"
cargo build --workspace --bins --locked
echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee "$log"
# cargo prints one summary per test binary, the last often a doc-test run with none;
# close with the totals over all of them.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
