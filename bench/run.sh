#!/usr/bin/env bash
# bench/run.sh: apigw's load harness. One command, on a Debian machine with Go:
#
#   bench/run.sh
#
# installs wrk and nginx from Debian's packages when they are missing, builds
# apigw, the backend (bench/backend), the harness helper (bench/harness) and a
# Go Lambda function (bench/fn), starts them on loopback, and measures with wrk,
# side by side:
#
#   1. the backend alone                 5. apigw AWS_IAM (a signature replayed)
#   2. nginx in front of it              6. apigw MOCK
#   3. apigw HTTP_PROXY, no auth         7. apigw AWS_PROXY to a warm Go function
#   4. apigw, API key + usage plan       8-10. 1-3 again with 4 KiB answers
#                                        11-12. the floor of a Go proxy: a bare
#   net/http server forwarding with httputil.ReverseProxy, and with apigw's
#   backend client (bench/goproxy), without apigw's pipeline
#   13. apigw, API key + usage plan with its limits in Redis (a second apigw
#   started with --redis; skipped when there is no Redis)
#   14-15. nginx and apigw HTTP_PROXY over HTTPS (TLS 1.3, keep-alive), the
#   same certificate (ECDSA P-256 under a CA made here) in both
#   16-17. the same with a new TLS connection per request (Connection: close,
#   so every request is a full handshake): new TLS connections per second
#
# For each: requests/s, p50 and p99 latency, and the CPU time per request of the
# proxy process. It prints a Markdown table with ratios to nginx and writes it
# into BENCHMARKS.md between <!-- bench:start --> and <!-- bench:end -->.
# Everything it starts is stopped when it ends, also on failure or Ctrl-C.
#
# Environment (defaults in brackets):
#   BENCH_DURATION            measured run of each scenario, seconds [10]
#   BENCH_WARMUP              warm-up before it, seconds [2]
#   BENCH_CONNECTIONS         wrk connections [32]
#   BENCH_THREADS             wrk threads [1]
#   BENCH_LAMBDA_CONNECTIONS  connections of the AWS_PROXY row [32]; calls past
#                             the function's workers wait for one
#   BENCH_LARGE               1 to add the 4 KiB rows, 0 to skip them [1]
#   BENCH_ONLY                space-separated scenario numbers to run [all]
#   BENCH_APIGW_ARGS          extra arguments for `apigw serve` (split on spaces),
#                             e.g. "--access-log /tmp/access.log" []
#   BENCH_MARKDOWN            file to write the section into [BENCHMARKS.md of
#                             this tree]; "-" prints only
#   BENCH_APIGW_GOMAXPROCS    GOMAXPROCS for apigw only; 1 matches nginx's single
#                             worker [unset: Go's default, one per core]
#   BENCH_GO_TAGS             build tags for apigw, e.g. "pprof" to serve
#                             net/http/pprof on 127.0.0.1:6060 while it runs []
#   BENCH_KEEP                1 keeps the work directory (logs, wrk outputs) [0]
#   BENCH_REDIS               Redis URL of row 13 [a private redis-server on a
#                             free port when redis-server is installed, else
#                             row 13 is skipped]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
LAMBDA_CONNS=${BENCH_LAMBDA_CONNECTIONS:-32}
LARGE=${BENCH_LARGE:-1}
ONLY=${BENCH_ONLY:-}
# The account throttle (AWS's 10,000 requests/s) would cap the measurement,
# and the AWS_PROXY row's connections need as many function workers.
read -ra APIGW_ARGS <<<"${BENCH_APIGW_ARGS:---account-rate-limit 1000000 --account-burst-limit 1000000 --lambda-concurrency 32}"
MARKDOWN=${BENCH_MARKDOWN:-$ROOT/BENCHMARKS.md}
KEEP=${BENCH_KEEP:-0}
DURATION=${DURATION%s}
WARMUP=${WARMUP%s}
for v in DURATION WARMUP CONNS THREADS LAMBDA_CONNS; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} < 1)); then
		echo "bench: $v must be a positive whole number, got '${!v}'" >&2
		exit 2
	fi
done

if ((DURATION > 280)); then
	echo "bench: BENCH_DURATION over 280 s: the AWS_IAM row replays one signature, which apigw accepts for 5 minutes" >&2
	exit 2
fi

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---- processes we start, stopped in reverse order on exit -------------------

WORK=""
PIDS=()
POLICY_RC=""
SUDO=""

# alive PID: the process exists and is not a zombie.
alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[[ ${s:0:1} != Z ]]
}

# stop PID: SIGTERM, up to 15 s to exit, then SIGKILL; reaps it.
stop() {
	local pid=$1 i
	alive "$pid" || {
		wait "$pid" 2>/dev/null || true
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "process $pid did not stop on SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? i pid d
	trap - EXIT INT TERM
	if [[ -n $WRK_PID ]]; then stop "$WRK_PID"; fi
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		# apigw's Lambda workers: apigw stops them itself; any left are killed.
		local left
		left=$(descendants "$pid")
		stop "$pid"
		for d in $left; do
			if alive "$d"; then kill -KILL "$d" 2>/dev/null || true; fi
		done
	done
	if [[ -n $POLICY_RC ]]; then $SUDO rm -f "$POLICY_RC"; fi
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ $KEEP == 1 || $rc != 0 ]]; then
			log "work directory kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: runs CMD in the background, output to $WORK/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=("$!")
	LAST_PID=$!
}

# ---- /proc ------------------------------------------------------------------

# stat_fields PID: the fields of /proc/PID/stat from field 3 (state) on, so
# field N is index N-3: ppid [1], utime [11], stime [12], cutime [13], cstime [14].
stat_fields() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	echo "${s##*) }"
}

# ticks PID: utime+stime of the process (all its threads), 0 when gone.
ticks() {
	local -a f
	read -ra f <<<"$(stat_fields "$1" || echo)"
	if ((${#f[@]} < 13)); then
		echo 0
		return
	fi
	echo $((f[11] + f[12]))
}

# child_ticks PID: cutime+cstime, the children it has waited for.
child_ticks() {
	local -a f
	read -ra f <<<"$(stat_fields "$1" || echo)"
	if ((${#f[@]} < 15)); then
		echo 0
		return
	fi
	echo $((f[13] + f[14]))
}

# machine_ticks: busy ticks of the whole machine (all CPUs) from /proc/stat,
# and steal (time the hypervisor gave to other guests): "BUSY STEAL".
machine_ticks() {
	local _cpu user nice system _idle _iowait irq softirq steal _rest
	read -r _cpu user nice system _idle _iowait irq softirq steal _rest </proc/stat
	echo "$((user + nice + system + irq + softirq)) $steal"
}

# descendants PID: the PIDs below PID.
descendants() {
	local parent=$1 p ppid
	local -a f
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		read -ra f <<<"$(stat_fields "$p" || echo)"
		((${#f[@]} > 1)) || continue
		ppid=${f[1]}
		if [[ $ppid == "$parent" ]]; then
			echo "$p"
			descendants "$p"
		fi
	done
}

# sum_ticks PID...: utime+stime summed.
sum_ticks() {
	local t=0 p
	for p in "$@"; do t=$((t + $(ticks "$p"))); done
	echo "$t"
}

# ---- tools ------------------------------------------------------------------

find_nginx() {
	command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}

install_tools() {
	local -a pkgs=()
	command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
	# "nginx" is the plain build in every Debian release (bookworm's
	# nginx-light is the same binary plus the echo module).
	[[ -n $(find_nginx) ]] || pkgs+=(nginx)
	((${#pkgs[@]} == 0)) && return 0
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 || die "need ${pkgs[*]}: run as root or install them (apt-get install ${pkgs[*]})"
		SUDO="sudo"
	fi
	log "installing ${pkgs[*]} from Debian's packages"
	# Keep the package from starting nginx as a system service.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		POLICY_RC=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY_RC" >/dev/null
		$SUDO chmod 755 "$POLICY_RC"
	fi
	apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
	apt_get update -qq >"$WORK/apt.log" 2>&1 || die "apt-get update failed, see $WORK/apt.log"
	apt_get install -y -qq --no-install-recommends "${pkgs[@]}" >>"$WORK/apt.log" 2>&1 ||
		die "apt-get install ${pkgs[*]} failed, see $WORK/apt.log"
	if [[ -n $POLICY_RC ]]; then
		$SUDO rm -f "$POLICY_RC"
		POLICY_RC=""
	fi
}

# ---- measuring --------------------------------------------------------------

WRK_EXTRA=()
WRK_PID=""

# wrk_run OUT ARGS...: runs wrk (bounded by timeout) in the background and
# waits for it, so that a signal to this script is handled at once.
wrk_run() {
	local out=$1
	shift
	timeout "$((WARMUP + DURATION + 60))" wrk "$@" >"$out" 2>&1 &
	WRK_PID=$!
	local rc=0
	wait "$WRK_PID" || rc=$?
	WRK_PID=""
	return "$rc"
}

# want N: scenario N is selected by BENCH_ONLY.
want() {
	[[ -z $ONLY ]] && return 0
	[[ " $ONLY " == *" $1 "* ]]
}

# measure ID GROUP ROLE LABEL URL CONNS PREP PID...
#   PREP, when not "-", is a function run before each wrk call; it sets
#   WRK_EXTRA (extra wrk arguments, e.g. -H headers).
#   PID... are the proxy's processes whose CPU time is measured.
measure() {
	local id=$1 group=$2 role=$3 label=$4 url=$5 conns=$6 prep=$7
	shift 7
	local -a pids=("$@")
	WRK_EXTRA=()

	log "$id $label: warm-up ${WARMUP}s"
	if [[ $prep != - ]]; then $prep; fi
	wrk_run "$RES/$id.warmup" -t "$THREADS" -c "$conns" -d "${WARMUP}s" --timeout 5s "${WRK_EXTRA[@]}" "$url" ||
		die "wrk warm-up of $label failed: $(cat "$RES/$id.warmup")"

	if [[ $prep != - ]]; then $prep; fi
	local -a kids
	mapfile -t kids < <(descendants "${pids[0]}")
	local -A k0=()
	local p
	for p in "${kids[@]}"; do k0[$p]=$(ticks "$p"); done
	local t0 b0 c0
	t0=$(sum_ticks "${pids[@]}")
	b0=$(ticks "$BACKEND_PID")
	c0=$(child_ticks "${pids[0]}")
	# wrk's CPU reaches this shell's cutime when its timeout wrapper exits.
	local w0 m0 s0
	w0=$(child_ticks $$)
	read -r m0 s0 <<<"$(machine_ticks)"

	log "$id $label: ${DURATION}s, $conns connections"
	wrk_run "$RES/$id.wrk" -t "$THREADS" -c "$conns" -d "${DURATION}s" --timeout 5s --latency "${WRK_EXTRA[@]}" "$url" ||
		die "wrk run of $label failed: $(cat "$RES/$id.wrk")"

	local t1 b1 c1 w1 m1 s1 extra=0
	read -r m1 s1 <<<"$(machine_ticks)"
	w1=$(child_ticks $$)
	t1=$(sum_ticks "${pids[@]}")
	b1=$(ticks "$BACKEND_PID")
	c1=$(child_ticks "${pids[0]}")
	# apigw's descendants (its Lambda workers): their CPU, including workers
	# started or reaped during the run.
	if [[ $role == apigw* ]]; then
		mapfile -t kids < <(descendants "${pids[0]}")
		for p in "${kids[@]}"; do extra=$((extra + $(ticks "$p") - ${k0[$p]:-0})); done
		extra=$((extra + c1 - c0))
	fi

	local statuses=""
	if grep -q 'Non-2xx' "$RES/$id.wrk"; then
		log "$id $label: non-2xx answers: $(grep 'Non-2xx' "$RES/$id.wrk" | tr -s ' ')"
		# A short census of the statuses (a Lua response() slows wrk, so
		# it is not used in the measured run).
		if wrk_run "$RES/$id.census" -t 1 -c "$conns" -d 2s --timeout 5s -s "$WORK/census.lua" "${WRK_EXTRA[@]}" "$url"; then
			grep '^status ' "$RES/$id.census" | sed 's/^status //' >"$RES/$id.statuses" || true
			statuses="$id.statuses"
		fi
	fi
	cat >"$RES/$id.meta" <<-EOF
		id=$id
		group=$group
		role=$role
		label=$label
		conns=$conns
		url=$url
		wrk=$id.wrk
		clk_tck=$CLK_TCK
		ticks=$((t1 - t0))
		backend_ticks=$((b1 - b0))
		extra_ticks=$extra
		wrk_ticks=$((w1 - w0))
		machine_ticks=$((m1 - m0))
		steal_ticks=$((s1 - s0))
		statuses=$statuses
	EOF
	log "$id $label: $(grep -E '^Requests/sec' "$RES/$id.wrk" | tr -s ' '), CPU $((t1 - t0)) ticks"
}

# ---- main -------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/apigw-bench.XXXXXX")
RES=$WORK/results
BIN=$WORK/bin
mkdir -p "$RES" "$BIN" "$WORK/nginx/logs"

command -v go >/dev/null 2>&1 || die "go is not installed"
install_tools
NGINX=$(find_nginx)
[[ -n $NGINX ]] || die "nginx not found after installing it"
command -v wrk >/dev/null 2>&1 || die "wrk not found after installing it"
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
# Changes that go into the apigw binary (not bench/ or the docs).
if [[ $COMMIT != unknown && -n $(git -C "$ROOT" status --porcelain -- cmd internal go.mod go.sum 2>/dev/null) ]]; then
	COMMIT="$COMMIT (with uncommitted changes)"
fi

log "building apigw, backend, harness and the function"
(
	cd "$ROOT"
	go build -tags "${BENCH_GO_TAGS:-}" -ldflags "-X 'main.version=$COMMIT'" -o "$BIN/apigw" ./cmd/apigw
	go build -o "$BIN/backend" ./bench/backend
	go build -o "$BIN/harness" ./bench/harness
	go build -o "$BIN/goproxy" ./bench/goproxy
	CGO_ENABLED=0 go build -tags lambda.norpc -o "$BIN/bootstrap" ./bench/fn
) || die "build failed"
H=$BIN/harness

PORTS=$("$H" ports 11) || die "no free ports"
read -r P_BACKEND P_NGINX P_DATA P_ADMIN P_RP P_GOH1 P_DATA2 P_ADMIN2 P_REDIS P_NGINX_TLS P_TLS <<<"$PORTS"

# The HTTPS rows' certificate, served by nginx and apigw alike: a leaf for
# localhost and 127.0.0.1 under a CA made here, both ECDSA P-256 (the
# key apigw's local CA would make), the chain sent in full.
TLSD=$WORK/tls
mkdir -p "$TLSD"
(
	cd "$TLSD"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=apigw bench CA" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=localhost" &&
		printf 'subjectAltName=DNS:localhost,DNS:*.execute-api.localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >leaf.ext &&
		openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile leaf.ext -out leaf.pem &&
		cat leaf.pem ca.pem >chain.pem
) >"$WORK/openssl.log" 2>&1 || die "openssl could not make the HTTPS certificate: $(cat "$WORK/openssl.log")"

# 1. The backend.
start backend "$BIN/backend" -listen "127.0.0.1:$P_BACKEND"
BACKEND_PID=$LAST_PID
"$H" wait -url "http://127.0.0.1:$P_BACKEND/small" || die "backend did not start: $(cat "$WORK/backend.log")"

# 2. nginx: one worker, upstream keepalive, in the foreground.
cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/client_body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream backend {
        server 127.0.0.1:$P_BACKEND;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$P_NGINX;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$P_NGINX_TLS ssl;
        ssl_certificate $TLSD/chain.pem;
        ssl_certificate_key $TLSD/leaf.key;
        ssl_protocols TLSv1.3;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
start nginx "$NGINX" -e "$WORK/nginx/logs/error.log" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf"
NGINX_PID=$LAST_PID
"$H" wait -url "http://127.0.0.1:$P_NGINX/small" || die "nginx did not start: $(cat "$WORK/nginx.log" "$WORK/nginx/logs/error.log" 2>/dev/null)"

# The Go floor: bare proxies without apigw's pipeline.
start goproxy-rp "$BIN/goproxy" -mode reverseproxy -listen "127.0.0.1:$P_RP" -backend "http://127.0.0.1:$P_BACKEND"
RP_PID=$LAST_PID
start goproxy-h1 "$BIN/goproxy" -mode h1 -listen "127.0.0.1:$P_GOH1" -backend "http://127.0.0.1:$P_BACKEND"
GOH1_PID=$LAST_PID
"$H" wait -url "http://127.0.0.1:$P_RP/small" || die "goproxy did not start: $(cat "$WORK/goproxy-rp.log")"
"$H" wait -url "http://127.0.0.1:$P_GOH1/small" || die "goproxy did not start: $(cat "$WORK/goproxy-h1.log")"

# 3. apigw, with its data in the work directory and root credentials of ours.
export APIGW_ROOT_ACCESS_KEY_ID=AKIAAPIGWBENCH000001
APIGW_ROOT_SECRET_ACCESS_KEY=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
export APIGW_ROOT_SECRET_ACCESS_KEY
start apigw env ${BENCH_APIGW_GOMAXPROCS:+GOMAXPROCS=$BENCH_APIGW_GOMAXPROCS} "$BIN/apigw" serve --data-dir "$WORK/apigw-data" \
	--listen "127.0.0.1:$P_DATA" --admin-listen "127.0.0.1:$P_ADMIN" \
	--tls-listen "127.0.0.1:$P_TLS" --tls-cert "$TLSD/chain.pem" --tls-key "$TLSD/leaf.key" "${APIGW_ARGS[@]}"
APIGW_PID=$LAST_PID
"$H" wait -url "http://127.0.0.1:$P_ADMIN/_apigw/health" || die "apigw did not start: $(cat "$WORK/apigw.log")"

log "creating the API, usage plan, key, IAM user and function"
"$H" setup -admin "http://127.0.0.1:$P_ADMIN" -data "http://127.0.0.1:$P_DATA" \
	-backend "http://127.0.0.1:$P_BACKEND" -bootstrap "$BIN/bootstrap" -out "$WORK/setup.env" ||
	die "setup failed; apigw's log: $(tail -n 20 "$WORK/apigw.log")"
# shellcheck disable=SC1091
source "$WORK/setup.env"

cat >"$WORK/census.lua" <<'EOF'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do total[s] = (total[s] or 0) + n end
  end
  for s, n in pairs(total) do io.write(string.format("status %d:%d\n", s, n)) end
end
EOF

HOST_H=(-H "Host: $API_HOST")
APIGW_URL="http://127.0.0.1:$P_DATA/$STAGE"
prep_host() { WRK_EXTRA=("${HOST_H[@]}"); }
prep_key() { WRK_EXTRA=("${HOST_H[@]}" -H "x-api-key: $API_KEY"); }
prep_iam() {
	local line
	WRK_EXTRA=("${HOST_H[@]}")
	while IFS= read -r line; do
		WRK_EXTRA+=(-H "$line")
	done < <("$H" sign -url "$APIGW_URL/iam" -host "$API_HOST" -ak "$IAM_ACCESS_KEY_ID" -sk "$IAM_SECRET_ACCESS_KEY")
	((${#WRK_EXTRA[@]} > 2)) || die "signing failed"
}
NGINX_PIDS=("$NGINX_PID")
mapfile -t -O 1 NGINX_PIDS < <(descendants "$NGINX_PID")

# measure ID GROUP ROLE LABEL URL CONNS PREP PID...
run() { if want "$((10#$1))"; then measure "$@"; fi; }
run 01 small backend "backend alone" "http://127.0.0.1:$P_BACKEND/small" "$CONNS" - "$BACKEND_PID"
run 02 small nginx "nginx" "http://127.0.0.1:$P_NGINX/small" "$CONNS" - "${NGINX_PIDS[@]}"
run 03 small apigw-proxy "apigw HTTP_PROXY, no auth" "$APIGW_URL/proxy" "$CONNS" prep_host "$APIGW_PID"
run 04 small apigw-key "apigw HTTP_PROXY, API key + usage plan" "$APIGW_URL/key" "$CONNS" prep_key "$APIGW_PID"
run 05 small apigw-iam "apigw HTTP_PROXY, AWS_IAM" "$APIGW_URL/iam" "$CONNS" prep_iam "$APIGW_PID"
run 06 small apigw-mock "apigw MOCK" "$APIGW_URL/mock" "$CONNS" prep_host "$APIGW_PID"
run 07 small apigw-lambda "apigw AWS_PROXY, Go function" "$APIGW_URL/lambda" "$LAMBDA_CONNS" prep_host "$APIGW_PID"
if [[ $LARGE == 1 ]]; then
	run 08 large backend "backend alone, 4 KiB" "http://127.0.0.1:$P_BACKEND/large" "$CONNS" - "$BACKEND_PID"
	run 09 large nginx "nginx, 4 KiB" "http://127.0.0.1:$P_NGINX/large" "$CONNS" - "${NGINX_PIDS[@]}"
	run 10 large apigw-proxy "apigw HTTP_PROXY, no auth, 4 KiB" "$APIGW_URL/large" "$CONNS" prep_host "$APIGW_PID"
fi
run 11 small goproxy-rp "Go floor: net/http + httputil.ReverseProxy" "http://127.0.0.1:$P_RP/small" "$CONNS" - "$RP_PID"
run 12 small goproxy-h1 "Go floor: net/http + apigw's h1 client" "http://127.0.0.1:$P_GOH1/small" "$CONNS" - "$GOH1_PID"

# 14-17. HTTPS. wrk (OpenSSL) resumes no session, so with Connection: close
# every request is a new connection and a full handshake. The protocol each
# listener negotiates is checked first: the rows are TLS 1.3.
if want 14 || want 15 || want 16 || want 17; then
	command -v openssl >/dev/null 2>&1 || die "openssl is needed for the HTTPS rows"
	for hp in "nginx 127.0.0.1:$P_NGINX_TLS" "apigw 127.0.0.1:$P_TLS"; do
		read -r who addr <<<"$hp"
		proto=$(openssl s_client -connect "$addr" -servername localhost </dev/null 2>/dev/null | grep -m1 -E '^ *Protocol *:|^New, TLSv' || true)
		[[ $proto == *TLSv1.3* ]] || die "$who's HTTPS listener did not negotiate TLS 1.3 with openssl s_client: '$proto'"
	done
	NGINX_TLS_URL="https://127.0.0.1:$P_NGINX_TLS/small"
	APIGW_TLS_URL="https://127.0.0.1:$P_TLS/$STAGE/proxy"
	prep_close() { WRK_EXTRA=(-H "Connection: close"); }
	prep_host_close() { WRK_EXTRA=("${HOST_H[@]}" -H "Connection: close"); }
	run 14 tls nginx "nginx, HTTPS (TLS 1.3, keep-alive)" "$NGINX_TLS_URL" "$CONNS" - "${NGINX_PIDS[@]}"
	run 15 tls apigw-proxy "apigw HTTP_PROXY, HTTPS (TLS 1.3, keep-alive)" "$APIGW_TLS_URL" "$CONNS" prep_host "$APIGW_PID"
	run 16 tlsnew nginx "nginx, HTTPS, a new TLS connection per request" "$NGINX_TLS_URL" "$CONNS" prep_close "${NGINX_PIDS[@]}"
	run 17 tlsnew apigw-proxy "apigw HTTP_PROXY, HTTPS, a new TLS connection per request" "$APIGW_TLS_URL" "$CONNS" prep_host_close "$APIGW_PID"
fi

# 13. A second apigw whose limits live in Redis (as nodes of a cluster
# share them), with the same API, plan and key, measured like row 4.
if want 13; then
	REDIS_URL=${BENCH_REDIS:-}
	if [[ -z $REDIS_URL ]] && command -v redis-server >/dev/null 2>&1; then
		start redis redis-server --bind 127.0.0.1 --port "$P_REDIS" --save "" --appendonly no
		REDIS_URL="redis://127.0.0.1:$P_REDIS/0"
		for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$P_REDIS") 2>/dev/null && break; sleep 0.1; done
	fi
	if [[ -z $REDIS_URL ]]; then
		log "13: no BENCH_REDIS and no redis-server: row 13 skipped"
	else
		# Stop the first apigw: the two would compete for the CPU.
		stop "$APIGW_PID"
		start apigw-redis env ${BENCH_APIGW_GOMAXPROCS:+GOMAXPROCS=$BENCH_APIGW_GOMAXPROCS} "$BIN/apigw" serve --data-dir "$WORK/apigw-redis-data" \
			--listen "127.0.0.1:$P_DATA2" --admin-listen "127.0.0.1:$P_ADMIN2" --redis "$REDIS_URL" \
			--redis-prefix "apigw-bench-$$:" "${APIGW_ARGS[@]}"
		APIGW2_PID=$LAST_PID
		"$H" wait -url "http://127.0.0.1:$P_ADMIN2/_apigw/health" || die "apigw --redis did not start: $(cat "$WORK/apigw-redis.log")"
		"$H" setup -admin "http://127.0.0.1:$P_ADMIN2" -data "http://127.0.0.1:$P_DATA2" \
			-backend "http://127.0.0.1:$P_BACKEND" -bootstrap "$BIN/bootstrap" -out "$WORK/setup-redis.env" ||
			die "setup of apigw --redis failed; its log: $(tail -n 20 "$WORK/apigw-redis.log")"
		HOST_H2=(-H "Host: $(. "$WORK/setup-redis.env" && echo "$API_HOST")")
		KEY2=$(. "$WORK/setup-redis.env" && echo "$API_KEY")
		prep_key_redis() { WRK_EXTRA=("${HOST_H2[@]}" -H "x-api-key: $KEY2"); }
		measure 13 small apigw-key-redis "apigw HTTP_PROXY, API key + plan, Redis limits" \
			"http://127.0.0.1:$P_DATA2/$STAGE/key" "$CONNS" prep_key_redis "$APIGW2_PID"
	fi
fi

# Anything apigw logged at warning level or above during the runs. Requests
# cut off when wrk closes its connections at the end of a run are logged as
# "context canceled": counted apart.
NOTES=""
APIGW_LOGS=("$WORK/apigw.log")
[[ -f $WORK/apigw-redis.log ]] && APIGW_LOGS+=("$WORK/apigw-redis.log")
canceled=$(cat "${APIGW_LOGS[@]}" | grep -cE '(level=| )(WARN|ERROR) .*context canceled' || true)
others=$(cat "${APIGW_LOGS[@]}" | grep -E '(level=| )(WARN|ERROR) ' | grep -v 'context canceled' || true)
if [[ -n $others ]]; then
	NOTES="apigw logged $(wc -l <<<"$others") other warnings or errors, first: \`$(head -n 1 <<<"$others" | cut -c1-200 | tr '|`' '/ ')\`"
fi
if ((canceled > 0)); then
	NOTES="${NOTES:+$NOTES | }apigw logged $canceled \"context canceled\" warnings: requests in flight when wrk closed its connections at the end of a run (or of a warm-up)."
fi

CMD="bench/run.sh"
for v in BENCH_APIGW_ARGS BENCH_ONLY BENCH_LARGE BENCH_LAMBDA_CONNECTIONS BENCH_THREADS BENCH_CONNECTIONS BENCH_WARMUP BENCH_DURATION; do
	if [[ -n ${!v:-} ]]; then
		if [[ ${!v} == *' '* ]]; then CMD="$v='${!v}' $CMD"; else CMD="$v=${!v} $CMD"; fi
	fi
done
cat >"$RES/run.info" <<EOF
date=$(date -u +'%Y-%m-%d %H:%M UTC')
command=$CMD
nproc=$(nproc)
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
kernel=$(uname -r)
go=$(go version | awk '{print $3}')
nginx=$("$NGINX" -v 2>&1 | sed 's|^nginx version: nginx/||')
wrk=$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')
commit=$COMMIT
threads=$THREADS
conns=$CONNS
lambda_conns=$LAMBDA_CONNS
duration=${DURATION}s
warmup=${WARMUP}s
notes=$NOTES
EOF

if [[ $MARKDOWN == - ]]; then
	"$H" report -dir "$RES"
else
	"$H" report -dir "$RES" -md "$MARKDOWN"
	log "written into $MARKDOWN"
fi
