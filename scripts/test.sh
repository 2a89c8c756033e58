#!/usr/bin/env bash
# Runs every test: builds the local test images (no registry needed), then the
# whole Go suite. Tests that need Docker fail rather than skip when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-images.sh
# need COMMAND PACKAGE WHY installs a Debian package when its command is
# missing.
need() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "==> installing $2 (Debian's package): $3"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need aws awscli "the security tests drive the server with the aws CLI as well as the SDK"
need chromium chromium "the web console's browser tests drive headless Chromium"
need etcd etcd-server "the etcd store backend and the high-availability tests run real etcd members"
echo "==> go vet ./..."
go vet ./...
echo "==> go test ./..."
go test -count=1 -timeout 30m ./...
