#!/usr/bin/env bash
# Each binary links only what it uses: the crates an entry point must never link, checked on
# the resolved dependency graph (this machine's target). The tests of the core, the adapters
# and the router (and the CLI's) build no AWS SDK: only tests/aws does. A line that
# prints "links X" names the boundary broken and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
# package | edges (normal, or normal,dev for what its tests build) | crates it must not link
while IFS='|' read -r package edges forbidden; do
  tree=$(cargo tree --locked -e "$edges" -p "$package" --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  for crate in $forbidden; do
    if grep -qx "$crate" <<<"$tree"; then
      echo "$package links $crate" >&2
      status=1
    fi
  done
done <<'EOF'
artifact-monitor-core|normal|reqwest redb sigstore-verify axum aws-config aws-sdk-dynamodb hyper ring aws-lc-rs
artifact-monitor-verify|normal|reqwest redb axum aws-config tokio-rustls
artifact-monitor-http|normal|redb sigstore-verify axum aws-config
artifact-monitor-embedded|normal|reqwest sigstore-verify axum aws-config
artifact-monitor-api|normal|reqwest redb sigstore-verify aws-config
artifact-monitor-aws|normal|reqwest redb sigstore-verify axum
artifact-monitor-api-lambda|normal|redb sigstore-verify
artifact-monitor-provider|normal|redb sigstore-verify axum
artifact-monitor-poller|normal|redb axum
artifact-monitor-verifier|normal|redb axum
artifact-monitor-cli|normal|aws-config aws-sdk-dynamodb aws-smithy-runtime
artifact-monitor-tests|normal,dev|aws-config aws-sdk-dynamodb aws-smithy-runtime
artifact-monitor-cli|normal,dev|aws-config aws-sdk-dynamodb aws-smithy-runtime
EOF
if [ "$status" = 0 ]; then echo "dependency boundaries hold"; fi
exit "$status"
