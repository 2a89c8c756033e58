#!/usr/bin/env bash
# Builds the images Wharf's tests run, without any registry:
#   wharf-testapp:latest  the static Go test workload (testapp/) in a FROM scratch image
#   busybox:latest        Debian's static busybox with its applets, FROM scratch
#   wharf-agent:latest    the static wharf binary, FROM scratch (scripts/agent-image.sh)
# Idempotent: an image is rebuilt only when it is missing or its inputs changed,
# which is recorded in a label on the image (a hash of the inputs).
#
# Usage: scripts/test-images.sh [--force]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
testapp_image="wharf-testapp:latest"
busybox_image="busybox:latest"
hash_label="org.wharf-ecs.inputs-hash"
force=0

testapp_dockerfile='FROM scratch
COPY testapp /testapp
EXPOSE 8080
ENTRYPOINT ["/testapp"]'

busybox_dockerfile='FROM scratch
COPY rootfs/ /
ENV PATH=/bin
CMD ["sh"]'

log() { printf 'test-images: %s\n' "$*" >&2; }
die() { printf 'test-images: ERROR: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (try --help)" ;;
  esac
done

# The legacy builder is enough for FROM scratch images and needs no buildx
# plugin, which this machine does not have.
export DOCKER_BUILDKIT=0

# Build contexts live under one temporary directory removed on any exit.
work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

check_docker() {
  command -v docker >/dev/null || die "the docker CLI is not installed; install docker.io (or Docker Engine) first"
  local err
  if ! err="$(docker version --format '{{.Server.Version}}' 2>&1)"; then
    die "cannot reach the Docker daemon (${DOCKER_HOST:-unix:///var/run/docker.sock}): ${err}
  Start it (e.g. 'sudo systemctl start docker' or 'sudo dockerd &'), or point DOCKER_HOST at it,
  and make sure this user may use it (member of the 'docker' group, or run as root)."
  fi
  log "Docker daemon ${err} reachable"
}

# image_hash IMAGE prints the inputs hash recorded on IMAGE, or nothing when
# the image does not exist.
image_hash() {
  docker image inspect --format "{{ index .Config.Labels \"${hash_label}\" }}" "$1" 2>/dev/null || true
}

# up_to_date IMAGE HASH succeeds when IMAGE exists and was built from HASH.
up_to_date() {
  [[ "$force" -eq 0 && "$(image_hash "$1")" == "$2" ]]
}

# build_image IMAGE HASH CONTEXT builds CONTEXT (with its Dockerfile) and
# tags the result IMAGE, labelled with HASH.
build_image() {
  local image="$1" hash="$2" context="$3" old_id new_id
  old_id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  # The output is shown only on failure: it is otherwise just the legacy
  # builder's deprecation notice.
  if ! docker build --quiet --label "${hash_label}=${hash}" --tag "$image" "$context" \
    >"${work_dir}/build.log" 2>&1; then
    cat "${work_dir}/build.log" >&2
    die "docker build of ${image} failed"
  fi
  # Drop the image this one replaces rather than leave it dangling; it
  # stays if a container still uses it.
  new_id="$(docker image inspect --format '{{.Id}}' "$image")"
  if [[ -n "$old_id" && "$old_id" != "$new_id" ]]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
}

build_testapp() {
  command -v go >/dev/null || die "Go is not installed; it is needed to build testapp"
  local arch hash context
  arch="$(docker version --format '{{.Server.Arch}}')"
  # Inputs: the sources (tests excluded), the Go version, the target arch
  # and the Dockerfile.
  hash="$( { (cd "$repo_root" && find testapp -name '*.go' ! -name '*_test.go' -print0 \
              | sort -z | xargs -0 sha256sum); go version; echo "$arch"; echo "$testapp_dockerfile"; } \
           | sha256sum | cut -c1-16)"
  if up_to_date "$testapp_image" "$hash"; then
    log "${testapp_image} is up to date (inputs ${hash})"
    return
  fi
  log "building ${testapp_image} (inputs ${hash}, linux/${arch})"
  context="${work_dir}/testapp"
  mkdir -p "$context"
  (cd "$repo_root" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
    go build -trimpath -ldflags='-s -w' -o "${context}/testapp" ./testapp) \
    || die "go build ./testapp failed"
  printf '%s\n' "$testapp_dockerfile" >"${context}/Dockerfile"
  build_image "$testapp_image" "$hash" "$context"
  smoke_test_testapp
  log "built ${testapp_image}"
}

is_static() {
  [[ -x "$1" ]] || return 1
  if command -v file >/dev/null; then
    file -L "$1" | grep -q 'statically linked'
  else
    # ldd fails on binaries that have no dynamic section.
    if ldd "$1" >/dev/null 2>&1; then return 1; fi
  fi
}

ensure_busybox_static() {
  if is_static /bin/busybox; then
    return
  fi
  log "/bin/busybox is missing or not static: installing Debian's busybox-static"
  command -v apt-get >/dev/null || die "apt-get not found; install a static busybox as /bin/busybox by hand"
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: run 'apt-get install busybox-static' as root"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || die "apt-get update failed (is the Debian mirror reachable?)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null \
    || die "apt-get install busybox-static failed"
  is_static /bin/busybox || die "/bin/busybox is still not a static binary after installing busybox-static"
}

build_busybox() {
  ensure_busybox_static
  local hash context applet banner
  # Inputs: the binary, the Dockerfile, and a layout version to bump when
  # the files laid out beside busybox change.
  hash="$( { sha256sum /bin/busybox; echo "$busybox_dockerfile"; echo "layout 1"; } | sha256sum | cut -c1-16)"
  if up_to_date "$busybox_image" "$hash"; then
    log "${busybox_image} is up to date (inputs ${hash})"
    return
  fi
  banner="$(/bin/busybox 2>&1 || true)"
  log "building ${busybox_image} from ${banner%%$'\n'*} (inputs ${hash})"
  context="${work_dir}/busybox"
  mkdir -p "${context}/rootfs/bin" "${context}/rootfs/etc" "${context}/rootfs/tmp"
  cp /bin/busybox "${context}/rootfs/bin/busybox"
  # What 'busybox --install -s' would do, done here because the image has no
  # shell to run it in at build time. Relative links stay valid in the image.
  for applet in $(/bin/busybox --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "${context}/rootfs/bin/${applet}"
  done
  # Enough of /etc for 'User: nobody' and name lookups to work in tests.
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"${context}/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"${context}/rootfs/etc/group"
  printf 'hosts: files dns\n' >"${context}/rootfs/etc/nsswitch.conf"
  chmod 1777 "${context}/rootfs/tmp"
  printf '%s\n' "$busybox_dockerfile" >"${context}/Dockerfile"
  build_image "$busybox_image" "$hash" "$context"
  smoke_test_busybox
  log "built ${busybox_image}"
}

# The smoke tests run right after a build, so that a broken image never
# stays tagged and is never taken as up to date.
smoke_test_busybox() {
  local out
  out="$(docker run --rm "$busybox_image" sh -c 'echo hi')" \
    || smoke_failed "$busybox_image" "docker run ${busybox_image} sh -c 'echo hi' failed"
  [[ "$out" == hi ]] || smoke_failed "$busybox_image" "sh -c 'echo hi' printed '${out}'"
}

smoke_test_testapp() {
  local code=0
  docker run --rm -e EXIT_CODE=3 "$testapp_image" >/dev/null 2>&1 || code=$?
  [[ "$code" -eq 3 ]] || smoke_failed "$testapp_image" "with EXIT_CODE=3 it exited ${code}, want 3"
  code=0
  docker run --rm "$testapp_image" -healthcheck http://127.0.0.1:1/ -healthcheck-timeout 1s \
    >/dev/null 2>&1 || code=$?
  [[ "$code" -eq 1 ]] || smoke_failed "$testapp_image" "-healthcheck of a closed port exited ${code}, want 1"
}

smoke_failed() {
  docker image rm --force "$1" >/dev/null 2>&1 || true
  die "smoke test of $1: $2 (image removed)"
}

check_docker
build_testapp
build_busybox
if [[ "$force" -eq 1 ]]; then "$repo_root/scripts/agent-image.sh" --force; else "$repo_root/scripts/agent-image.sh"; fi
log "ready: ${testapp_image}, ${busybox_image}, wharf-agent:latest"
