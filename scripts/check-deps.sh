#!/usr/bin/env bash
# Each binary links only what it uses: the crates an entry point must never link, checked on
# the resolved dependency graph (normal dependencies, this machine's target). A line that
# prints "links X" names the boundary broken and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
# package | crates it must not link (space-separated)
while IFS='|' read -r package forbidden; do
  tree=$(cargo tree --locked -e normal -p "$package" --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  for crate in $forbidden; do
    if grep -qx "$crate" <<<"$tree"; then
      echo "$package links $crate" >&2
      status=1
    fi
  done
done <<'EOF'
artifact-monitor-core|reqwest redb sigstore-verify axum aws-config aws-sdk-dynamodb hyper ring aws-lc-rs
artifact-monitor-verify|reqwest redb axum aws-config tokio-rustls
artifact-monitor-http|redb sigstore-verify axum aws-config
artifact-monitor-embedded|reqwest sigstore-verify axum aws-config
artifact-monitor-api|reqwest redb sigstore-verify aws-config
artifact-monitor-aws|reqwest redb sigstore-verify axum
artifact-monitor-api-lambda|redb sigstore-verify
artifact-monitor-provider|redb sigstore-verify axum
artifact-monitor-poller|redb axum
artifact-monitor-verifier|redb axum
artifact-monitor-cli|aws-config aws-sdk-dynamodb aws-smithy-runtime
EOF
if [ "$status" = 0 ]; then echo "dependency boundaries hold"; fi
exit "$status"
