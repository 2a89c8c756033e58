#!/usr/bin/env bash
# Runs every test: builds the local test images (no registry needed), then the
# whole Go suite. Tests that need Docker fail rather than skip when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-images.sh
# The security tests drive the server with the aws CLI as well as the SDK.
if ! command -v aws >/dev/null 2>&1; then
  echo "==> installing the aws CLI (Debian's awscli)"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null
fi
echo "==> go vet ./..."
go vet ./...
echo "==> go test ./..."
go test -count=1 -timeout 30m ./...
