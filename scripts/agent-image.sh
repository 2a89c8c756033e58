#!/usr/bin/env bash
# Builds wharf-agent:latest without any registry: the static wharf binary in a
# FROM scratch image. Managed scaling's Docker launcher runs it as
# `wharf agent` (one container per launched instance, the Docker socket
# mounted), and awsvpc tasks use it for their pause container (`wharf pause`).
# Idempotent: rebuilt only when the Go sources, the Go version or the target
# architecture changed (a hash recorded in a label on the image).
#
# Usage: scripts/agent-image.sh [--force]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="wharf-agent:latest"
hash_label="org.wharf-ecs.inputs-hash"
force=0
dockerfile='FROM scratch
COPY wharf /wharf
ENTRYPOINT ["/wharf"]
CMD ["agent"]'

log() { printf 'agent-image: %s\n' "$*" >&2; }
die() { printf 'agent-image: ERROR: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (try --help)" ;;
  esac
done

command -v docker >/dev/null || die "the docker CLI is not installed"
command -v go >/dev/null || die "Go is not installed; it is needed to build wharf"
arch="$(docker version --format '{{.Server.Arch}}')" || die "cannot reach the Docker daemon"
export DOCKER_BUILDKIT=0

hash="$( { (cd "$repo_root" && find . -name '*.go' ! -name '*_test.go' ! -path './testapp/*' -print0 \
            | sort -z | xargs -0 sha256sum; sha256sum go.sum); go version; echo "$arch"; echo "$dockerfile"; } \
         | sha256sum | cut -c1-16)"
if [[ "$force" -eq 0 && "$(docker image inspect --format "{{ index .Config.Labels \"${hash_label}\" }}" "$image" 2>/dev/null || true)" == "$hash" ]]; then
  log "${image} is up to date (inputs ${hash})"
  exit 0
fi
work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
log "building ${image} (inputs ${hash}, linux/${arch})"
(cd "$repo_root" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
  go build -trimpath -ldflags='-s -w' -o "${work_dir}/wharf" ./cmd/wharf) || die "go build ./cmd/wharf failed"
printf '%s\n' "$dockerfile" >"${work_dir}/Dockerfile"
old_id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
if ! docker build --quiet --label "${hash_label}=${hash}" --tag "$image" "$work_dir" >"${work_dir}/build.log" 2>&1; then
  cat "${work_dir}/build.log" >&2
  die "docker build of ${image} failed"
fi
new_id="$(docker image inspect --format '{{.Id}}' "$image")"
if [[ -n "$old_id" && "$old_id" != "$new_id" ]]; then
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
docker run --rm "$image" --help >/dev/null 2>&1 || { docker image rm --force "$image" >/dev/null 2>&1 || true; die "smoke test: wharf --help failed in ${image} (image removed)"; }
log "built ${image}"
