#!/usr/bin/env bash
# Benchmarks Wharf's HTTP load balancer against nginx as a reverse proxy to
# the same three targets, side by side in one run, with wrk on loopback:
#   direct   wrk -> one target (the baseline the proxies add to)
#   nginx    wrk -> nginx (Debian's, keep-alive upstream pool) -> 3 targets
#   wharf    wrk -> a Wharf application load balancer -> 3 targets
# The targets are wharf-testapp processes (testapp/) answering GET /.
# Throughput is measured with many connections (wrk). Added latency is
# measured at a fixed request rate (hey, 4 workers at --rate requests/s in
# all), the same for the three, so that each path carries the same load and
# none queues: p99 through a proxy minus p99 direct. (A closed-loop client
# at few connections sends as fast as each path answers, so the fastest path
# -- direct -- loads the 2 cores most and its tail is the worst.)
#
# Installs nginx, wrk and hey from Debian when they are missing (this script
# only; CI does not run it). Needs the aws CLI to create the load balancer.
#
# Usage: scripts/bench-lb.sh [--duration 10s] [--rounds 4] [--connections 64] [--rate 2000]
set -euo pipefail

duration=10s
rounds=4
connections=64
rate=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-lb: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
log() { printf 'bench-lb: %s\n' "$*" >&2; }

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v hey >/dev/null 2>&1 || missing+=(hey)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
command -v aws >/dev/null || { log "the aws CLI is needed (apt-get install awscli)"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing answers at $1"; exit 1
}

log "building wharf and testapp"
go build -o "$work/wharf" ./cmd/wharf
go build -o "$work/testapp" ./testapp

targets=()
for _ in 1 2 3; do
  p=$(free_port)
  "$work/testapp" -port "$p" >/dev/null 2>&1 &
  pids+=($!)
  targets+=("$p")
done
for p in "${targets[@]}"; do wait_http "http://127.0.0.1:$p/"; done

api_port=$(free_port)
export WHARF_ACCESS_KEY_ID=AKIDBENCH WHARF_SECRET_ACCESS_KEY=bench-secret
"$work/wharf" server --listen "127.0.0.1:$api_port" --data-dir "$work/data" --lb-address 127.0.0.1 \
  --rate-limit-scale 0 --log-level warn >"$work/server.log" 2>&1 &
server_pid=$!
pids+=($server_pid)
wait_http "http://127.0.0.1:$api_port/healthz"

elb() {
  AWS_ACCESS_KEY_ID=$WHARF_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$WHARF_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1 \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= \
    aws elbv2 --endpoint-url "http://127.0.0.1:$api_port" --output text "$@"
}
wharf_port=$(free_port)
lb_arn=$(elb create-load-balancer --name bench --query 'LoadBalancers[0].LoadBalancerArn')
tg_arn=$(elb create-target-group --name bench --protocol HTTP --port 80 --target-type ip \
  --health-check-interval-seconds 30 --query 'TargetGroups[0].TargetGroupArn')
elb create-listener --load-balancer-arn "$lb_arn" --protocol HTTP --port "$wharf_port" \
  --default-actions "Type=forward,TargetGroupArn=$tg_arn" >/dev/null
reg=()
for p in "${targets[@]}"; do reg+=("Id=127.0.0.1,Port=$p"); done
elb register-targets --target-group-arn "$tg_arn" --targets "${reg[@]}"
for _ in $(seq 1 100); do
  healthy=$(elb describe-target-health --target-group-arn "$tg_arn" --query 'length(TargetHealthDescriptions[?TargetHealth.State==`healthy`])')
  [ "$healthy" = 3 ] && break
  sleep 0.1
done
[ "$healthy" = 3 ] || { log "the targets did not become healthy"; exit 1; }
wait_http "http://127.0.0.1:$wharf_port/"

nginx_port=$(free_port)
{
  echo "worker_processes auto;"
  echo "pid $work/nginx.pid;"
  echo "error_log $work/nginx-error.log warn;"
  echo "events { worker_connections 4096; }"
  echo "http {"
  echo "  access_log off;"
  echo "  client_body_temp_path $work/nginx-body; proxy_temp_path $work/nginx-proxy;"
  echo "  fastcgi_temp_path $work/nginx-fcgi; uwsgi_temp_path $work/nginx-uwsgi; scgi_temp_path $work/nginx-scgi;"
  echo "  upstream targets {"
  for p in "${targets[@]}"; do echo "    server 127.0.0.1:$p;"; done
  echo "    keepalive 128;"
  echo "  }"
  echo "  server {"
  echo "    listen 127.0.0.1:$nginx_port;"
  echo "    location / {"
  echo "      proxy_pass http://targets;"
  echo "      proxy_http_version 1.1;"
  echo "      proxy_set_header Connection \"\";"
  echo "      proxy_set_header Host \$host;"
  echo "      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
  echo "      proxy_set_header X-Forwarded-Proto \$scheme;"
  echo "    }"
  echo "  }"
  echo "}"
} >"$work/nginx.conf"
"$nginx_bin" -c "$work/nginx.conf" -p "$work" -g 'daemon on;' 2>>"$work/nginx-error.log"
wait_http "http://127.0.0.1:$nginx_port/"

# cpu_ticks PIDS...: the user and system CPU ticks the processes used.
cpu_ticks() {
  local total=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
  done
  echo "$total"
}
proxy_pids() {
  if [ "$1" = nginx ]; then
    local master; master=$(cat "$work/nginx.pid")
    echo "$master" $(pgrep -P "$master")
  elif [ "$1" = wharf ]; then
    echo "$server_pid"
  fi
}

# run NAME URL CONNECTIONS DURATION: one wrk run, printing
# "NAME requests/s p50 p99 requests-per-proxy-CPU-second" (latencies in ms).
run() {
  local out rps p50 p99 before after reqs
  local pids; pids=$(proxy_pids "$1")
  before=$(cpu_ticks $pids)
  out=$(wrk -t2 -c"$3" -d"$4" --latency "$2")
  after=$(cpu_ticks $pids)
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%s %s %s %s %s\n' "$1" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" \
    "$(awk -v r="$reqs" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { if (t > 0) printf "%.0f", r / (t / hz); else print 0 }')"
}
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v/1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v*1000 }
    else print v }'
}

direct="http://127.0.0.1:${targets[0]}/"
nginx_url="http://127.0.0.1:$nginx_port/"
wharf_url="http://127.0.0.1:$wharf_port/"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
log "warming up"
for u in "$direct" "$nginx_url" "$wharf_url"; do wrk -t2 -c"$connections" -d3s "$u" >/dev/null; done

# The machine may be shared: the proxies take turns, round after round (the
# order alternating), so that whatever else runs weighs on both alike.
log "throughput: $rounds rounds of $duration per proxy at $connections connections"
: >"$work/throughput"
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then order="nginx wharf"; else order="wharf nginx"; fi
  for p in $order; do
    url=$nginx_url; [ "$p" = wharf ] && url=$wharf_url
    run "$p" "$url" "$connections" "$duration" >>"$work/throughput"
  done
done
# at NAME URL: one fixed-rate hey run, printing "NAME p50 p99" in ms.
at() {
  local out
  out=$(hey -z "$duration" -c 4 -q $((rate / 4)) "$2")
  printf '%s %s %s\n' "$1" \
    "$(awk '$1=="50%" && $2=="in" {printf "%.3f", $3*1000}' <<<"$out")" \
    "$(awk '$1=="99%" && $2=="in" {printf "%.3f", $3*1000}' <<<"$out")"
}
log "latency: $rounds rounds of $duration per target at $rate requests/s"
: >"$work/latency"
for r in $(seq 1 "$rounds"); do
  at direct "$direct" >>"$work/latency"
  at nginx "$nginx_url" >>"$work/latency"
  at wharf "$wharf_url" >>"$work/latency"
done

# Per proxy: total requests/s averaged over the rounds, and the median of
# the rounds' p50 and p99.
awk -v c="$connections" -v rate="$rate" -v d="$duration" -v rounds="$rounds" -v nv="$("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///')" '
function median(arr, n,   i, j, t) {
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
  return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
FILENAME ~ /throughput$/ { rps[$1] += $2; n[$1]++; p50[$1, n[$1]] = $3; p99[$1, n[$1]] = $4; if ($1 == "wharf") ratio[++nr] = $2 }
FILENAME ~ /throughput$/ && $1 == "nginx" { nrps[++nn] = $2 }
FILENAME ~ /throughput$/ { eff[$1] += $5 }
FILENAME ~ /latency$/ { m[$1]++; l50[$1, m[$1]] = $2; l99[$1, m[$1]] = $3 }
END {
  for (i = 1; i <= nr; i++) r[i] = ratio[i] / nrps[i]
  for (p in n) { for (i = 1; i <= n[p]; i++) { a[i] = p50[p, i]; b[i] = p99[p, i] }; med50[p] = median(a, n[p]); med99[p] = median(b, n[p]) }
  for (p in m) { for (i = 1; i <= m[p]; i++) { a[i] = l99[p, i]; b[i] = l50[p, i] }; lat[p] = median(a, m[p]); lat50[p] = median(b, m[p]) }
  printf "| | requests/s (%d connections, %d x %s) | p50 ms | p99 ms | requests per proxy CPU-second | p50 / p99 ms at %d requests/s | added p50 / p99 ms |\n", c, rounds, d, rate
  printf "| --- | --- | --- | --- | --- | --- | --- |\n"
  printf "| direct to one target | - | - | - | - | %.3f / %.3f | - |\n", lat50["direct"], lat["direct"]
  printf "| nginx %s, keep-alive upstream | %.0f | %.3f | %.3f | %.0f | %.3f / %.3f | %.3f / %.3f |\n", nv, rps["nginx"] / n["nginx"], med50["nginx"], med99["nginx"], eff["nginx"] / n["nginx"], lat50["nginx"], lat["nginx"], lat50["nginx"] - lat50["direct"], lat["nginx"] - lat["direct"]
  printf "| wharf application load balancer | %.0f | %.3f | %.3f | %.0f | %.3f / %.3f | %.3f / %.3f |\n", rps["wharf"] / n["wharf"], med50["wharf"], med99["wharf"], eff["wharf"] / n["wharf"], lat50["wharf"], lat["wharf"], lat50["wharf"] - lat50["direct"], lat["wharf"] - lat["direct"]
  printf "\nwharf / nginx throughput: %.1f%%; per proxy CPU-second: %.1f%% (rounds:", 100 * rps["wharf"] / rps["nginx"], 100 * eff["wharf"] / eff["nginx"]
  for (i = 1; i <= nr; i++) printf " %.1f%%", 100 * r[i]
  printf ")\n"
}' "$work/throughput" "$work/latency"
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
