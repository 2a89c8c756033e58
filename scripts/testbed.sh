#!/usr/bin/env bash
# A multi-host Wharf on this machine's Docker Engine, without any registry:
# three etcd members, three wharf servers on them and wharf agents, each a
# container with its own address on a private Docker network, all from one
# locally built FROM scratch image holding the static wharf binary and
# Debian's etcd (package etcd-server, with the two libraries it links).
# The agents run their tasks' containers on this Docker Engine (its socket is
# mounted), as the agents of managed scaling do.
#
# Usage: scripts/testbed.sh up [AGENTS] | down | env
#   up    build the image when its inputs changed, start everything (4
#         agents unless AGENTS says otherwise), wait until it is healthy
#   down  remove the containers, the tasks they started and the network
#   env   print the endpoints and credentials as shell variables
#
# The network is 172.29.0.0/24 unless WHARF_TESTBED_NET says another /24
# prefix (e.g. 10.77.3). The root key is WHARF_ACCESS_KEY_ID and
# WHARF_SECRET_ACCESS_KEY when set, else one made at the first `up`; it and
# the servers' shared master key are kept in WHARF_TESTBED_DIR (default
# /tmp/wharf-testbed). The servers' --agent-timeout is
# WHARF_TESTBED_AGENT_TIMEOUT (default 15s; the servers hold an agent's poll
# at most a third of it, so idle agents are heard in time).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="wharf-testbed:latest"
network="wharf-testbed"
net="${WHARF_TESTBED_NET:-172.29.0}"
agent_timeout="${WHARF_TESTBED_AGENT_TIMEOUT:-15s}"
state="${WHARF_TESTBED_DIR:-/tmp/wharf-testbed}"
hash_label="org.wharf-ecs.inputs-hash"
cluster="testbed"

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: ERROR: %s\n' "$*" >&2; exit 1; }

etcd_ip() { echo "${net}.1$1"; }
server_ip() { echo "${net}.2$1"; }
agent_ip() { echo "${net}.$((30 + $1))"; }
etcd_endpoints() { echo "http://$(etcd_ip 1):2379,http://$(etcd_ip 2):2379,http://$(etcd_ip 3):2379"; }
server_endpoints() { echo "http://$(server_ip 1):8080,http://$(server_ip 2):8080,http://$(server_ip 3):8080"; }

# build_image makes wharf-testbed:latest unless its inputs are unchanged.
build_image() {
  command -v go >/dev/null || die "Go is needed to build wharf"
  local etcd_bin
  etcd_bin="$(command -v etcd)" || die "etcd is missing: apt-get install etcd-server"
  local arch
  arch="$(docker version --format '{{.Server.Arch}}')" || die "cannot reach the Docker daemon"
  # etcd from Debian links the C library dynamically: copy what it needs.
  local libs
  libs="$(ldd "$etcd_bin" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | sort -u)"
  local dockerfile='FROM scratch
COPY rootfs/ /
ENV PATH=/
ENTRYPOINT []'
  local hash
  hash="$( { (cd "$repo_root" && find . -name '*.go' ! -name '*_test.go' ! -path './testapp/*' -print0 \
              | sort -z | xargs -0 sha256sum; sha256sum go.sum); go version; echo "$arch";
             sha256sum "$etcd_bin" $libs; echo "$dockerfile"; } | sha256sum | cut -c1-16)"
  if [[ "$(docker image inspect --format "{{ index .Config.Labels \"${hash_label}\" }}" "$image" 2>/dev/null || true)" == "$hash" ]]; then
    log "${image} is up to date"
    return
  fi
  local work
  work="$(mktemp -d)"
  log "building ${image}"
  mkdir -p "$work/rootfs"
  (cd "$repo_root" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
    go build -trimpath -ldflags='-s -w' -o "$work/rootfs/wharf" ./cmd/wharf) || die "go build ./cmd/wharf failed"
  cp "$etcd_bin" "$work/rootfs/etcd"
  local lib
  for lib in $libs; do
    mkdir -p "$work/rootfs$(dirname "$lib")"
    cp -L "$lib" "$work/rootfs$lib"
  done
  printf '%s\n' "$dockerfile" >"$work/Dockerfile"
  if ! DOCKER_BUILDKIT=0 docker build --quiet --label "${hash_label}=${hash}" --tag "$image" "$work" >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    rm -rf "$work"
    die "docker build of ${image} failed"
  fi
  rm -rf "$work"
}

# credentials sets the root key: the caller's, or the one kept in $state.
credentials() {
  mkdir -p "$state"
  chmod 700 "$state"
  if [[ -z "${WHARF_ACCESS_KEY_ID:-}" || -z "${WHARF_SECRET_ACCESS_KEY:-}" ]]; then
    if [[ ! -f "$state/root.env" ]]; then
      printf 'WHARF_ACCESS_KEY_ID=AKIA%s\nWHARF_SECRET_ACCESS_KEY=%s\n' \
        "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n' | tr a-f A-F)" \
        "$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')" >"$state/root.env"
    fi
    # shellcheck disable=SC1091
    . "$state/root.env"
  fi
  export WHARF_ACCESS_KEY_ID WHARF_SECRET_ACCESS_KEY
  # Every server must hold the same master key (docs/ha.md).
  if [[ ! -f "$state/master.key" ]]; then
    (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$state/master.key"; echo >>"$state/master.key")
  fi
}

up() {
  local agents="${1:-4}"
  [[ "$agents" =~ ^[1-9]$ ]] || die "AGENTS must be 1 to 9"
  command -v docker >/dev/null || die "the docker CLI is not installed"
  build_image
  credentials
  down quiet
  docker network create --subnet "${net}.0/24" "$network" >/dev/null || die "cannot create network ${network} on ${net}.0/24 (set WHARF_TESTBED_NET)"
  local i cluster_peers=""
  for i in 1 2 3; do cluster_peers+="${cluster_peers:+,}e$i=http://$(etcd_ip "$i"):2380"; done
  for i in 1 2 3; do
    docker run -d --name "wharf-tb-etcd-$i" --hostname "etcd-$i" --network "$network" --ip "$(etcd_ip "$i")" \
      --label org.wharf-ecs.testbed=1 "$image" /etcd --name "e$i" --data-dir /var/lib/etcd \
      --listen-peer-urls "http://0.0.0.0:2380" --initial-advertise-peer-urls "http://$(etcd_ip "$i"):2380" \
      --listen-client-urls "http://0.0.0.0:2379" --advertise-client-urls "http://$(etcd_ip "$i"):2379" \
      --initial-cluster "$cluster_peers" --initial-cluster-state new --initial-cluster-token wharf-testbed \
      --max-txn-ops 4096 --max-request-bytes 8388608 \
      --auto-compaction-mode revision --auto-compaction-retention 100000 --logger zap --log-level warn >/dev/null
  done
  for i in 1 2 3; do
    docker run -d --name "wharf-tb-server-$i" --hostname "server-$i" --network "$network" --ip "$(server_ip "$i")" \
      --label org.wharf-ecs.testbed=1 -e WHARF_ACCESS_KEY_ID -e WHARF_SECRET_ACCESS_KEY \
      -v "$state/master.key:/etc/wharf/master.key:ro" "$image" \
      /wharf server --listen 0.0.0.0:8080 --data-dir /var/lib/wharf --etcd-endpoints "$(etcd_endpoints)" \
      --master-key-file /etc/wharf/master.key --rate-limit-scale 0 --agent-timeout "$agent_timeout" >/dev/null
  done
  for i in 1 2 3; do wait_http "http://$(server_ip "$i"):8080/healthz" "server $i"; done
  for i in $(seq 1 "$agents"); do
    docker run -d --name "wharf-tb-agent-$i" --hostname "agent-$i" --network "$network" --ip "$(agent_ip "$i")" \
      --label org.wharf-ecs.testbed=1 -v /var/run/docker.sock:/var/run/docker.sock \
      -e AWS_ACCESS_KEY_ID="$WHARF_ACCESS_KEY_ID" -e AWS_SECRET_ACCESS_KEY="$WHARF_SECRET_ACCESS_KEY" \
      -e AWS_REGION=us-east-1 -e AWS_CONFIG_FILE=/dev/null -e AWS_SHARED_CREDENTIALS_FILE=/dev/null \
      "$image" /wharf agent --endpoint "$(server_endpoints)" --cluster "$cluster" \
      --data-dir /var/lib/wharf-agent --memory 1024 --cpu 1024 >/dev/null
  done
  log "up: 3 etcd members, 3 servers, ${agents} agents on ${net}.0/24"
  print_env
}

# http_ok says whether http://HOST:PORT/PATH answers 200 within a second
# (bash's /dev/tcp: no HTTP client needed on the host).
http_ok() {
  local rest="${1#http://}"
  local hostport="${rest%%/*}" path="/${rest#*/}"
  timeout 1 bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1##*:}" && printf "GET %s HTTP/1.0\r\n\r\n" "$2" >&3 && read -r _ code _ <&3 && [[ "$code" == 200 ]]' \
    _ "$hostport" "$path" 2>/dev/null
}

# wait_http waits until url answers 200.
wait_http() {
  local url="$1" what="$2" i
  for i in $(seq 1 150); do
    if http_ok "$url"; then return; fi
    sleep 0.2
  done
  docker logs "wharf-tb-server-${what#server }" 2>&1 | tail -20 >&2 || true
  die "${what} (${url}) not healthy after 30 s"
}

# down removes the test bed: containers, the tasks the agents ran, network.
down() {
  local ids
  ids="$(docker ps -aq --filter label=org.wharf-ecs.testbed=1)"
  [[ -z "$ids" ]] || docker rm -f $ids >/dev/null
  ids="$(docker ps -aq --filter "label=com.amazonaws.ecs.cluster=${cluster}")"
  [[ -z "$ids" ]] || docker rm -f $ids >/dev/null
  docker network rm "$network" >/dev/null 2>&1 || true
  [[ "${1:-}" == quiet ]] || log "down"
}

print_env() {
  credentials
  cat <<EOF
WHARF_TESTBED_SERVERS=$(server_endpoints)
WHARF_TESTBED_ETCD=$(etcd_endpoints)
AWS_ACCESS_KEY_ID=${WHARF_ACCESS_KEY_ID}
AWS_SECRET_ACCESS_KEY=${WHARF_SECRET_ACCESS_KEY}
AWS_REGION=us-east-1
EOF
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  env) print_env ;;
  -h|--help|"") sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (try --help)" ;;
esac
