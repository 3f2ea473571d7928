#!/usr/bin/env bash
# bench/run.sh: Switchboard side by side with Kamailio, driven by SIPp on
# 127.0.0.1. See bench/README.md for what each figure means and what limits it.
#
#   bench/run.sh              full run (about 10 minutes on an idle 2-core machine)
#   QUICK=1 bench/run.sh      smoke test (3-4 minutes)
#
# It installs nothing: it says what is missing and stops. Every SIPp run is
# bounded by -m and -timeout (and by coreutils timeout as a backstop); every
# process it starts is stopped by PID when it exits, whatever the exit path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SC=$HERE/scenarios

# ------------------------------------------------------------ configuration
# Every knob is an environment variable; QUICK=1 changes the defaults only.
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	: "${REG_RATES:=1000 4000 8000}" "${REG_STEP_SECS:=2}"
	: "${CALL_RATES:=500 2000}" "${CALL_STEP_SECS:=2}"
	: "${REFINE:=0}"
	: "${RSS_CALLS:=300}" "${RSS_HOLD_MS:=4000}"
	: "${RELAY_CALLS:=50}" "${RELAY_SECS:=5}"
	: "${RTD_REG_RATES:=4000}" "${RTD_CALL_RATES:=500}"
else
	: "${REG_RATES:=1000 2000 4000 8000 16000 32000}" "${REG_STEP_SECS:=5}"
	: "${CALL_RATES:=250 500 1000 2000 3000 4000 5000 6000 8000 16000}" "${CALL_STEP_SECS:=5}"
	: "${REFINE:=1}"          # bisection steps between the last pass and the first failure
	: "${RSS_CALLS:=1000}" "${RSS_HOLD_MS:=8000}"
	: "${RELAY_CALLS:=200}" "${RELAY_SECS:=15}"
	: "${RTD_REG_RATES:=4000 8000}" "${RTD_CALL_RATES:=1000 2000 3000}"
fi
# RTD: response times to the microsecond from a packet capture (tcpdump on
# lo, read by bench/rtd), in extra steps after each sweep at the rates above
# that the sweep passed; SIPp's own samples come in steps of its 4-ms clock.
# The capture costs the sender CPU in the kernel, so the sweep steps (whose
# CPU and maximum are reported) run without it. auto: on when tcpdump is here.
RTD=${RTD:-auto}
USERS=${USERS:-10000}                   # registrar users (CSV, Switchboard tenants, Kamailio htable)
USERS_PER_TENANT=${USERS_PER_TENANT:-2500} # the API reads at most 1 MiB per tenant document
FILL_RATE=${FILL_RATE:-2000}            # REGISTER/s of the first pass that binds every user (RSS)
CALL_HOLD_MS=${CALL_HOLD_MS:-0}         # call length (-d) of the calls/s sweep
STEP_GAP=${STEP_GAP:-2}                 # seconds between steps (retransmissions drain)
QUIET_PCT=${QUIET_PCT:-20}             # before each step, wait for the machine to be less busy than this...
QUIET_MAX=${QUIET_MAX:-$([[ $QUICK == 1 ]] && echo 5 || echo 60)} # ...for at most this many seconds
MEM_SETTLE=${MEM_SETTLE:-$([[ $QUICK == 1 ]] && echo 5 || echo 41)} # s before a memory baseline/reading (UDP transactions end after 32 s; the UDP front's replay cache keeps answers 32-40 s)
SB_PORT_WAIT=${SB_PORT_WAIT:-11}        # seconds after a Switchboard call step: relay ports rest 10 s
# SERVER_CPUS, LOAD_CPUS: CPU lists (taskset -c syntax), set together or not
# at all. The server under test (Switchboard, Kamailio, rtpengine, SIPp's mock
# registrar) runs on SERVER_CPUS, everything else this script starts (SIPp,
# tcpdump) on LOAD_CPUS: on loopback each datagram SIPp sends wakes the
# server on SIPp's own CPU (the kernel's sync wake-up), where it waits for
# SIPp to finish its burst while the other CPU idles (bench/README.md,
# "Placement"). Unset: the kernel places everything, as in every run before.
SERVER_CPUS=${SERVER_CPUS:-} LOAD_CPUS=${LOAD_CPUS:-}
PHASES=${PHASES:-sipp kamailio switchboard rtpengine}
SB_PARTS=${SB_PARTS:-reg call relay}   # what the switchboard phase runs (a subset to iterate on one figure)
KAM_PARTS=${KAM_PARTS:-reg call}       # what the kamailio phase runs (bench/ab.sh kamailio ...)
CALL_PROFILE=${CALL_PROFILE:-dr}        # dr: user → SBC via Direct Routing (issue 8) | user: user → user
DR_TENANT_YAML=${DR_TENANT_YAML:-}      # dr: tenant document with dial plan + voice route to the SBC (default: generated)
DR_TARGET=${DR_TARGET:-4255551234}      # dr: national number dialled (US; the Global dial plan makes it E.164)
SBC_IP=${SBC_IP:-127.0.0.2}             # dr: the SBC's own loopback address (gateways are recognised by source address)
KAM_CALL_AUTH=${KAM_CALL_AUTH:-0}       # 1: Kamailio also challenges INVITEs (407), like Switchboard
KAM_CHILDREN=${KAM_CHILDREN:-}         # UDP workers, default one per server CPU; more than the cores only adds context switches (4 on 2 cores: +20-25 % CPU per call)
KAM_SHM_MB=${KAM_SHM_MB:-1024}          # tm keeps ~12 KiB per transaction for 5 s after it ends: 256 MB ran out at 2,000 calls/s
KAM_SHM_PREFAULT=${KAM_SHM_PREFAULT:-1} # 1: Kamailio touches all its shared memory at start (shm_force_alloc)
KAM_PKG_MB=${KAM_PKG_MB:-16}
SOCKBUF=${SOCKBUF:-4194304}             # SIPp -buff_size and Kamailio maxbuffer
SB_LOG_LEVEL=${SB_LOG_LEVEL:-info}      # the shipped default
SB_RTP_PORTS=${SB_RTP_PORTS:-10000-59999}
MAX_RUNTIME=${MAX_RUNTIME:-3600}        # backstop for every server process, seconds
STOP_WAIT=${STOP_WAIT:-40}              # s a process may take to exit after TERM (Switchboard drains calls)
OUT=${OUT:-$(mktemp -d /tmp/switchboard-bench.XXXXXX)}
# Ports on 127.0.0.1.
SB_PORT=${SB_PORT:-25060} SB_HTTP_PORT=${SB_HTTP_PORT:-25080} KAM_PORT=${KAM_PORT:-25062}
UAS_PORT=${UAS_PORT:-25070} UAC_PORT=${UAC_PORT:-25071} REG_PORT=${REG_PORT:-25072}
MOCK_PORT=${MOCK_PORT:-25073}
UAS_MEDIA_PORT=${UAS_MEDIA_PORT:-26000} UAC_MEDIA_PORT=${UAC_MEDIA_PORT:-27000}

SIPP=${SIPP:-sipp}
KAMAILIO=${KAMAILIO:-kamailio}
RTPENGINE=${RTPENGINE:-rtpengine}       # optional: the relay reference, userspace mode
RTPE_THREADS=${RTPE_THREADS:-2} RTPE_PORTS=${RTPE_PORTS:-40000-49999}
RTPE_NG_PORT=${RTPE_NG_PORT:-25223} RTPE_HTTP_PORT=${RTPE_HTTP_PORT:-25224}
LOOP=127.0.0.1
CALLEE_USER=uas CALLEE_EXT=9000

# ------------------------------------------------------------ preflight
missing=()
command -v "$SIPP" >/dev/null || missing+=("sipp      (Debian: apt-get install sip-tester; needs 3.6+ with RTPSTREAM)")
command -v "$KAMAILIO" >/dev/null || missing+=("kamailio  (Debian: apt-get install kamailio)")
for t in awk curl ss timeout ps sort; do
	command -v "$t" >/dev/null || missing+=("$t")
done
if [[ -z ${SB_BIN:-} ]] && ! command -v go >/dev/null; then
	missing+=("go        (to build Switchboard; or set SB_BIN to a built binary)")
fi
rtd_missing=
command -v tcpdump >/dev/null || rtd_missing="tcpdump   (Debian: apt-get install tcpdump; for RTD=1)"
[[ -n ${RTD_BIN:-} ]] || command -v go >/dev/null || rtd_missing="go        (to build bench/rtd; or set RTD_BIN; for RTD=1)"
case $RTD in
auto) [[ -n $rtd_missing ]] && RTD=0 || RTD=1 ;;
1) [[ -z $rtd_missing ]] || missing+=("$rtd_missing") ;;
0) ;;
*) missing+=("RTD=$RTD: want 0, 1 or auto") ;;
esac
if ((${#missing[@]})); then
	echo "bench: missing tools, nothing was installed:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 2
fi
case $CALL_PROFILE in
dr | user) ;;
*)
	echo "bench: CALL_PROFILE=$CALL_PROFILE: want dr or user" >&2
	exit 2
	;;
esac
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"
echo "bench: results in $OUT"
if [[ $RTD == 1 && -z ${RTD_BIN:-} ]]; then
	RTD_BIN=$OUT/rtd
	(cd "$ROOT" && go build -o "$RTD_BIN" ./bench/rtd) || {
		echo "bench: go build ./bench/rtd failed; set RTD_BIN or RTD=0" >&2
		exit 2
	}
fi
read -r _b0 _t0 < <(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
sleep 2
read -r _b1 _t1 < <(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
IDLE_BUSY=$(( _t1 > _t0 ? 100 * (_b1 - _b0) / (_t1 - _t0) : 0 ))
if ((IDLE_BUSY > 15)); then
	echo "bench: WARNING: the machine is already ${IDLE_BUSY}% busy before the run; figures will be low and noisy" >&2
fi

# ------------------------------------------------------------ processes
PIDS=()
LAST_PID=
start_bg() { # start_bg LOG CMD... : background process, tracked for cleanup
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}
stop_pid() { # stop_pid PID: TERM (a timeout wrapper passes it on), then KILL the whole tree after STOP_WAIT s
	local pid=$1 i tree
	kill -0 "$pid" 2>/dev/null || return 0
	mapfile -t tree < <(tree_of "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_WAIT * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: pid $pid did not stop within ${STOP_WAIT} s of TERM; killing it and its children" >&2
		kill -KILL "${tree[@]}" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
}
SRV_PIN=() # the prefix that starts a server on SERVER_CPUS
if [[ -n $SERVER_CPUS || -n $LOAD_CPUS ]]; then
	[[ -n $SERVER_CPUS && -n $LOAD_CPUS ]] || { echo "bench: set SERVER_CPUS and LOAD_CPUS together" >&2; exit 2; }
	command -v taskset >/dev/null || { echo "bench: SERVER_CPUS needs taskset (util-linux)" >&2; exit 2; }
	taskset -c "$SERVER_CPUS" true 2>/dev/null || { echo "bench: SERVER_CPUS=$SERVER_CPUS: not a CPU list taskset accepts here" >&2; exit 2; }
	taskset -cp "$LOAD_CPUS" $$ >/dev/null 2>&1 || { echo "bench: LOAD_CPUS=$LOAD_CPUS: not a CPU list taskset accepts here" >&2; exit 2; }
	SRV_PIN=(taskset -c "$SERVER_CPUS")
fi
: "${KAM_CHILDREN:=$("${SRV_PIN[@]}" nproc)}" # Go's GOMAXPROCS follows the same affinity
trap cleanup EXIT
trap 'exit 130' INT TERM

child_of() { # child_of PID: the (first) child of a wrapper such as timeout
	local i c
	for ((i = 0; i < 100; i++)); do
		c=$(cat "/proc/$1/task/$1/children" 2>/dev/null || true)
		if [[ -n ${c// /} ]]; then
			echo "${c%% *}"
			return 0
		fi
		sleep 0.05
	done
	return 1
}
tree_of() { # tree_of PID: PID and all its descendants
	ps -e -o pid= -o ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			in_tree[root] = 1
			do {
				grew = 0
				for (p in parent) if (!(p in in_tree) && (parent[p] in in_tree)) { in_tree[p] = 1; grew = 1 }
			} while (grew)
			for (p in in_tree) print p
		}'
}
cpu_ticks() { # cpu_ticks PID...: utime+stime of the processes, in clock ticks
	local f=() p
	(($#)) || { echo 0; return; }
	for p in "$@"; do f+=("/proc/$p/stat"); done
	cat "${f[@]}" 2>/dev/null | awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }'
}
sys_ticks() { # sys_ticks PID...: stime alone (the kernel's share of cpu_ticks)
	local f=() p
	(($#)) || { echo 0; return; }
	for p in "$@"; do f+=("/proc/$p/stat"); done
	cat "${f[@]}" 2>/dev/null | awk '{ sub(/^.*\) /, ""); s += $13 } END { print s + 0 }'
}
box_ticks() { # box_ticks: "busy total" ticks of the whole machine
	awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
mem_kb() { # mem_kb PID...: proportional set size (shared pages split), KiB
	local p s=0 v
	for p in "$@"; do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
# No "ss | grep -q": grep would exit at the first line and, under pipefail,
# ss's SIGPIPE would make the pipeline fail.
udp_listening() { [[ -n $(ss -Hlnu "sport = :$1") ]]; }
port_free() { ! udp_listening "$1" && [[ -z $(ss -Hlnt "sport = :$1") ]]; }
for p in $SB_PORT $SB_HTTP_PORT $KAM_PORT $UAS_PORT $UAC_PORT $REG_PORT $MOCK_PORT $UAS_MEDIA_PORT $UAC_MEDIA_PORT $RTPE_NG_PORT $RTPE_HTTP_PORT; do
	port_free "$p" || { echo "bench: port $p on $LOOP is in use; set the *_PORT variables" >&2; exit 2; }
done

# ------------------------------------------------------------ SIPp helpers
sipp_run() { # sipp_run DIR BUDGET_S SIPP-ARGS...: bounded foreground SIPp in DIR
	local dir=$1 budget=$2
	shift 2
	mkdir -p "$dir"
	(cd "$dir" && timeout -k 5 $((budget + 30)) "$SIPP" "$@" -i "$LOOP" -timeout "${budget}s" -timeout_error \
		-nostdin -buff_size "$SOCKBUF" -trace_stat -stf stat.csv -fd 1 \
		-trace_err -error_file errors.log >sipp.out 2>&1)
}
stat_col() { # stat_col FILE COLUMN: the column's value on the last line (0 without a file)
	[[ -s $1 ]] || { echo 0; return; }
	awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next } { v = $c } END { print (c && v != "") ? v : 0 }' "$1"
}
percentiles() { # percentiles DIR: "p50 p99 mean" of the rtd samples (ms)
	# SIPp's samples are multiples of its loop pass (4 ms here), so p50 and
	# p99 only resolve tens of ms; the mean (4 ms × the share of answers that
	# crossed a pass boundary) tells tenths of a ms apart between runs.
	local f
	f=$(compgen -G "$1/*_rtt.csv" | sed -n 1p || true)
	[[ -n $f ]] || { echo "- - -"; return; }
	tail -n +2 "$f" | cut -d';' -f2 | sort -n | awk '{ v[NR] = $1; s += $1 } END {
		if (NR == 0) { print "- - -"; exit }
		i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
		i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
		printf "%g %g %.3f\n", v[i50], v[i99], s / NR }'
}
start_uas() { # start_uas NAME [REGISTER_AT] [extra sipp args]: the callee, bounded; sets UAS_WRAP
	# With REGISTER_AT (host:port of Switchboard) the callee first registers
	# its own socket (callee.xml) and answers out of call (-oocsf uas.xml);
	# otherwise it is a plain UAS. Either way uas.xml answers every INVITE.
	local name=$1 reg=${2:-} i ip=${UAS_IP:-$LOOP}
	shift $(($# >= 2 ? 2 : 1))
	mkdir -p "$OUT/$name"
	local common=(-i "$ip" -p "$UAS_PORT" -mi "$ip" -mp "$UAS_MEDIA_PORT" -timeout "${MAX_RUNTIME}s" -nostdin
		-buff_size "$SOCKBUF" -trace_err -error_file "$OUT/$name/errors.log")
	if [[ -n $reg ]]; then
		start_bg "$OUT/$name/sipp.out" timeout -k 5 "$MAX_RUNTIME" "$SIPP" -sf "$SC/callee.xml" -oocsf "$SC/uas.xml" \
			-inf "$DATA/callee.csv" -auth_uri "$DOMAIN1" -m 1 -d $((MAX_RUNTIME * 1000)) \
			-trace_logs -log_file "$OUT/$name/log.log" "${common[@]}" "$@" "$reg"
	else
		start_bg "$OUT/$name/sipp.out" timeout -k 5 "$MAX_RUNTIME" "$SIPP" -sf "$SC/uas.xml" -m 100000000 \
			"${common[@]}" "$@"
	fi
	UAS_WRAP=$LAST_PID
	for ((i = 0; i < 200; i++)); do
		if [[ -n $reg ]]; then
			grep -q '^registered' "$OUT/$name/log.log" 2>/dev/null && return 0
		else
			udp_listening "$UAS_PORT" && return 0
		fi
		kill -0 "$UAS_WRAP" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench: the SIPp callee did not start or register (see $OUT/$name)" >&2
	return 1
}

# ------------------------------------------------------------ test data
DATA=$OUT/data
mkdir -p "$DATA/tenants" "$DATA/kamdb"
awk -v n="$USERS" -v per="$USERS_PER_TENANT" -v data="$DATA" -v cu="$CALLEE_USER" -v ce="$CALLEE_EXT" -v dr="$([[ $CALL_PROFILE == dr ]] && echo 1)" 'BEGIN {
	csv = data "/users.csv"; callers = data "/callers.csv"; kam = data "/kamdb/users"
	print "SEQUENTIAL" > csv
	print "SEQUENTIAL" > callers
	print "id(int,auto) key_name(str) key_type(int) value_type(int) key_value(str) expires(int)" > kam
	for (i = 1; i <= n; i++) {
		t = int((i - 1) / per) + 1
		u = sprintf("u%05d", i); pw = sprintf("pw-%05d-bench", i); dom = sprintf("bench%d.example.com", t)
		printf "%s;%s;[authentication username=%s password=%s]\n", u, dom, u, pw > csv
		if (t == 1) printf "%s;%s;[authentication username=%s password=%s];@TARGET@\n", u, dom, u, pw > callers
		printf "%d:%s:0:0:%s:0\n", i, u, pw > kam
		y = data "/tenants/bench" t ".yaml"
		if (!(t in started)) {
			started[t] = 1
			printf "tenant: bench%d\ndomains: [%s]\nusers:\n", t, dom > y
			if (t == 1) printf "  - sipAddress: %s@%s\n    password: \"pw-callee-bench\"\n    extension: \"%s\"\n    displayName: Bench callee\n", cu, dom, ce > y
		}
		printf "  - sipAddress: %s@%s\n    password: \"%s\"\n    extension: \"1%05d\"\n    displayName: U%05d\n", u, dom, pw, i, i > y
		if (t == 1 && dr) printf "    enterpriseVoiceEnabled: true\n    usageLocation: US\n    lineUri: \"+1425%07d\"\n", i > y
	}
	printf "%d:%s:0:0:%s:0\n", n + 1, cu, "pw-callee-bench" > kam
}'
printf 'table_name(str) table_version(int)\nusers:2\n' >"$DATA/kamdb/version"
DOMAIN1=bench1.example.com
printf 'SEQUENTIAL\n%s;%s;[authentication username=%s password=pw-callee-bench]\n' \
	"$CALLEE_USER" "$DOMAIN1" "$CALLEE_USER" >"$DATA/callee.csv"
CALL_TARGET=$CALLEE_EXT
# dr: the callers' tenant gets a Global dial plan (10 digits → +1), a voice
# route for +1 numbers to the SBC (the SIPp UAS on $SBC_IP:$UAS_PORT, no OPTIONS),
# media bypassed; the relay run applies the same with the media anchored.
dr_doc() { # mediaBypass
	cat <<DOC
tenant: bench1
pstnUsages: [US]
dialPlans:
  - name: Global
    normalizationRules:
      - {name: us-national, pattern: '^(\d{10})$', translation: '+1\$1'}
pstnGateways:
  - {fqdn: sbc.$DOMAIN1, address: $SBC_IP, sipSignalingPort: $UAS_PORT, transport: udp, enabled: true,
     sendSipOptions: false, mediaBypass: $1}
voiceRoutes:
  - {name: us, numberPattern: '^\+1\d{10}$', priority: 1, onlinePstnGatewayList: [sbc.$DOMAIN1], onlinePstnUsages: [US]}
voiceRoutingPolicies:
  - {name: Global, onlinePstnUsages: [US]}
DOC
}
if [[ $CALL_PROFILE == dr ]]; then
	CALL_TARGET=$DR_TARGET
	if [[ -z $DR_TENANT_YAML ]]; then
		DR_TENANT_YAML=$DATA/dr-bypass.yaml
		dr_doc true >"$DR_TENANT_YAML"
		dr_doc false >"$DATA/dr-anchored.yaml"
	fi
fi
sed -i "s/@TARGET@/$CALL_TARGET/" "$DATA/callers.csv"
head -c 8000 /dev/zero | tr '\0' '\377' >"$DATA/silence.pcmu" # 1 s of PCMU silence, looped

# ------------------------------------------------------------ results
STEPS=$OUT/steps.tsv
printf 'system\tkind\ttarget/s\tachieved/s\tok\tfailed\tretrans\tcpu_us_per\tbox_busy%%\tp50_ms\tp99_ms\tverdict\tbusy_before%%\tmean_ms\n' >"$STEPS"
declare -A R # R[key]=value, printed at the end
note() { echo "bench: $*"; }

# wait_quiet: other work on the machine skews every figure; before a step,
# wait up to QUIET_MAX s for a 1 s window under QUIET_PCT % busy. Sets PRE_BUSY.
wait_quiet() {
	local t0=$SECONDS b0 t0b b1 t1b
	while :; do
		read -r b0 t0b < <(box_ticks)
		sleep 1
		read -r b1 t1b < <(box_ticks)
		PRE_BUSY=$(((t1b - t0b) > 0 ? 100 * (b1 - b0) / (t1b - t0b) : 0))
		((PRE_BUSY < QUIET_PCT || SECONDS - t0 >= QUIET_MAX)) && break
	done
}

# measure_step SYS KIND RATE: one bounded SIPp run at RATE; appends to STEPS,
# sets STEP_OK (1 when 0 failures, < 1 % retransmissions, rate reached) and
# STEP_ACH, STEP_CPU, STEP_P50, STEP_P99, STEP_MEAN.
# Uses: TARGET_PIDS (server processes, may be empty), REMOTE, KIND_ARGS.
measure_step() {
	local sys=$1 kind=$2 rate=$3 secs calls dir rc c0 c1 b0 b1 ok fail retr ach busy cpu p verdict
	case $kind in
	reg) secs=$REG_STEP_SECS ;;
	*) secs=$CALL_STEP_SECS ;;
	esac
	calls=$((rate * secs))
	dir=$OUT/$sys-$kind-$rate${STEP_TAG:-}
	rm -rf "$dir"
	wait_quiet
	local _tot0 _tot1
	[[ $sys == switchboard && " ${TRACE_RATES:-} " == *" $rate "* ]] && start_bg /dev/null sb_trace "sb-$kind-$rate.trace"
	c0=$(cpu_ticks "${TARGET_PIDS[@]}")
	read -r b0 _tot0 < <(box_ticks)
	if sipp_run "$dir" $((secs + 40)) "${KIND_ARGS[@]}" -r "$rate" -rp 1000 -m "$calls" -l $((rate * 3 + 100)) \
		-recv_timeout 10000 -trace_rtt -rtt_freq 1 "$REMOTE"; then rc=0; else rc=$?; fi
	c1=$(cpu_ticks "${TARGET_PIDS[@]}")
	read -r b1 _tot1 < <(box_ticks)
	ok=$(stat_col "$dir/stat.csv" 'SuccessfulCall(C)')
	fail=$(stat_col "$dir/stat.csv" 'FailedCall(C)')
	retr=$(stat_col "$dir/stat.csv" 'Retransmissions(C)')
	ach=$(stat_col "$dir/stat.csv" 'CallRate(C)')
	busy=$(awk -v b=$((b1 - b0)) -v t=$((_tot1 - _tot0)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
	cpu=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$ok" 'BEGIN { printf "%.1f", n ? d * 1e6 / hz / n : 0 }')
	[[ ${#TARGET_PIDS[@]} -eq 0 ]] && cpu=-
	read -r STEP_P50 STEP_P99 STEP_MEAN < <(percentiles "$dir")
	STEP_OK=0
	if [[ $rc == 0 && $fail == 0 && $ok -ge $calls ]] && awk -v r="$retr" -v n="$ok" 'BEGIN { exit !(r * 100 < n) }'; then
		if awk -v a="$ach" -v t="$rate" 'BEGIN { exit !(a >= 0.9 * t) }'; then
			STEP_OK=1 verdict=pass
		else
			STEP_OK=2 verdict="pass, rate not reached (harness)"
		fi
	else
		verdict="FAIL (rc $rc)"
	fi
	STEP_ACH=$ach STEP_CPU=$cpu STEP_DONE=$(awk -v n="$ok" -v c="$calls" 'BEGIN { printf "%.1f", 100 * n / c }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$kind${STEP_TAG:-}" "$rate" "$ach" "$ok" "$fail" "$retr" \
		"$cpu" "$busy" "$STEP_P50" "$STEP_P99" "$verdict" "$PRE_BUSY" "$STEP_MEAN" | tee -a "$STEPS" | awk -F'\t' '{
		printf "  %-11s %-4s %6s/s -> %8s/s ok %-7s fail %-5s retrans %-6s cpu %7s us  box %3s%% (before %2s%%)  p50/p99 %s/%s ms (mean %s)  %s\n",
			$1, $2, $3, $4, $5, $6, $7, $8, $9, $13, $10, $11, $14, $12 }'
	sleep "$STEP_GAP"
}

# rtd_steps SYS KIND RATES...: with RTD=1, one more step at each RATE the
# sweep passed, the server's packets captured on lo meanwhile; bench/rtd
# reads the capture: R[SYS.KIND.rtd.RATE] = bench/rtd -tsv's line (n, p50
# p90 p99 p99.9 max mean in ms from the first request of a SIPp call to the
# server's 2xx, as SIPp's rtd; unanswered; the same six for the 2xx's own
# transaction). AFTER_STEP runs after each step, as in sweep.
rtd_steps() {
	[[ $RTD == 1 ]] || return 0
	local sys=$1 kind=$2 rate method secs cap tpid line drops
	shift 2
	if [[ $kind == reg ]]; then method=REGISTER secs=$REG_STEP_SECS; else method=INVITE secs=$CALL_STEP_SECS; fi
	for rate in "$@"; do
		[[ " ${R[$sys.$kind.passed]:-} " == *" $rate "* ]] || continue
		cap=$OUT/$sys-$kind-$rate-rtd.pcap
		start_bg "$OUT/$sys-$kind-$rate-rtd.tcpdump.log" timeout -k 5 $((secs + 120)) \
			tcpdump -i lo -n -s 2048 -B 16384 -c $((rate * secs * 12 + 10000)) -w "$cap" udp port "${REMOTE##*:}"
		tpid=$LAST_PID
		sleep 1 # until it listens
		STEP_TAG=-rtd measure_step "$sys" "$kind" "$rate"
		stop_pid "$tpid"
		${AFTER_STEP:-true}
		drops=$(awk '/dropped by kernel/ { print $1 }' "$OUT/$sys-$kind-$rate-rtd.tcpdump.log")
		if ! line=$("$RTD_BIN" -server "$REMOTE" -method "$method" -tsv "$cap" 2>>"$OUT/rtd.log"); then
			note "bench/rtd failed on $cap (see $OUT/rtd.log)"
			continue
		fi
		[[ ${KEEP_PCAP:-0} == 1 ]] || rm -f "$cap"
		R[$sys.$kind.rtd.$rate]=$line
		printf '%s\t%s\t%s\t%s\n' "$sys" "$kind" "$rate" "$line" >>"$OUT/rtd.tsv"
		R[$sys.$kind.rtd.rates]="${R[$sys.$kind.rtd.rates]:-} $rate"
		awk -v s="$sys" -v k="$kind" -v r="$rate" -v d="${drops:-?}" -F'\t' '{
			printf "  %-11s %-4s %6s/s captured (%s flows, %s not answered in it, %s packets dropped), ms p50/p90/p99/p99.9/max/mean: first request to 2xx %s/%s/%s/%s/%s/%s; the 2xx'"'"'s transaction %s/%s/%s/%s/%s/%s\n",
				s, k, r, $1, $8, d, $2, $3, $4, $5, $6, $7, $9, $10, $11, $12, $13, $14 }' <<<"$line"
	done
}

# sweep SYS KIND RATES...: rising rates until the first failure, then REFINE
# bisection steps. Sets R[SYS.KIND.max] (highest passing achieved rate), and
# per passing rate R[SYS.KIND.cpu.RATE], R[SYS.KIND.p50.RATE], R[...p99.RATE].
# AFTER_STEP (a command) runs after each step (e.g. waiting for relay ports).
sweep() {
	local sys=$1 kind=$2 rate lo=0 hi=0 i mid
	shift 2
	R[$sys.$kind.max]=0
	record() {
		R[$sys.$kind.cpu.$1]=$STEP_CPU R[$sys.$kind.p50.$1]=$STEP_P50 R[$sys.$kind.p99.$1]=$STEP_P99 R[$sys.$kind.mean.$1]=$STEP_MEAN
		R[$sys.$kind.ach.$1]=$STEP_ACH
		if awk -v a="$STEP_ACH" -v m="${R[$sys.$kind.max]}" 'BEGIN { exit !(a > m) }'; then
			R[$sys.$kind.max]=$(printf '%.0f' "$STEP_ACH")
		fi
		R[$sys.$kind.passed]="${R[$sys.$kind.passed]:-} $1"
	}
	for rate in "$@"; do
		measure_step "$sys" "$kind" "$rate"
		${AFTER_STEP:-true}
		if [[ $STEP_OK == 1 ]]; then
			record "$rate"
			lo=$rate
		elif [[ $STEP_OK == 2 ]]; then
			record "$rate"
			R[$sys.$kind.harness]=1
			return 0
		else
			hi=$rate
			# Past the ceiling: the share of the calls that still completed
			# (a node that collapses completes few; overload control refuses
			# some with 503 and completes the rest).
			R[$sys.$kind.over]=$rate R[$sys.$kind.overdone]=$STEP_DONE
			break
		fi
	done
	((hi > 0 && lo > 0)) || return 0
	for ((i = 0; i < REFINE; i++)); do
		mid=$(((lo + hi) / 2))
		((mid > lo && mid < hi)) || break
		measure_step "$sys" "$kind" "$mid"
		${AFTER_STEP:-true}
		if [[ $STEP_OK == 1 ]]; then
			record "$mid"
			lo=$mid
		else
			hi=$mid
		fi
	done
}

# fill SYS REMOTE: registers every user once (bindings for the RSS figure).
fill() {
	local sys=$1 remote=$2 dir=$OUT/$1-fill rc
	wait_quiet
	if sipp_run "$dir" $((USERS / FILL_RATE + 60)) -sf "$SC/register.xml" -inf "$DATA/users.csv" -p "$REG_PORT" \
		-auth_uri "$DOMAIN1" -r "$FILL_RATE" -rp 1000 -m "$USERS" -recv_timeout 10000 "$remote"; then rc=0; else rc=$?; fi
	note "$sys: registered $(stat_col "$dir/stat.csv" 'SuccessfulCall(C)') of $USERS users (failed $(stat_col "$dir/stat.csv" 'FailedCall(C)'), rc $rc)"
}

# rss_calls SYS REMOTE ALLOC_FN: RSS_CALLS concurrent no-media calls held
# RSS_HOLD_MS; PSS of TARGET_PIDS and ALLOC_FN (bytes the server says it has
# allocated) sampled before and at the plateau.
rss_calls() {
	local sys=$1 remote=$2 alloc=$3 dir=$OUT/$1-rsscalls m0 m1 a0 a1 pid rate rc ramp
	ramp=2
	rate=$(((RSS_CALLS + ramp - 1) / ramp))
	sleep "$MEM_SETTLE" # transactions of the sweep before end
	wait_quiet
	m0=$(mem_kb "${TARGET_PIDS[@]}")
	a0=$($alloc)
	mkdir -p "$dir"
	(cd "$dir" && timeout -k 5 $((RSS_HOLD_MS / 1000 + ramp + 60)) "$SIPP" -sf "$SC/uac.xml" -inf "$DATA/callers.csv" \
		-i "$LOOP" -p "$UAC_PORT" -mi "$LOOP" -mp "$UAC_MEDIA_PORT" -auth_uri "$CALL_TARGET@$DOMAIN1" \
		-r "$rate" -rp 1000 -m "$RSS_CALLS" -l "$RSS_CALLS" -d "$RSS_HOLD_MS" -recv_timeout 10000 \
		-timeout "$((RSS_HOLD_MS / 1000 + ramp + 30))s" -timeout_error -nostdin -buff_size "$SOCKBUF" \
		-trace_stat -stf stat.csv -fd 1 "$remote" >sipp.out 2>&1) &
	pid=$!
	sleep $((ramp + RSS_HOLD_MS / 2000))
	m1=$(mem_kb "${TARGET_PIDS[@]}")
	a1=$($alloc)
	if wait "$pid"; then rc=0; else rc=$?; fi
	R[$sys.rsscall]=$(awk -v a="$m0" -v b="$m1" -v n="$RSS_CALLS" 'BEGIN { printf "%.1f", (b - a) / n }')
	R[$sys.alloccall]=$(awk -v a="$a0" -v b="$a1" -v n="$RSS_CALLS" 'BEGIN { printf "%.1f", (b - a) / n / 1024 }')
	note "$sys: ${RSS_CALLS} concurrent calls: PSS ${m0} -> ${m1} KiB = ${R[$sys.rsscall]} KiB/call; allocated +${R[$sys.alloccall]} KiB/call (sipp rc $rc, ok $(stat_col "$dir/stat.csv" 'SuccessfulCall(C)'), failed $(stat_col "$dir/stat.csv" 'FailedCall(C)'))"
	sleep "$STEP_GAP"
}

reg_args() { KIND_ARGS=(-sf "$SC/register.xml" -inf "$DATA/users.csv" -p "$REG_PORT" -auth_uri "$DOMAIN1"); }
call_args() {
	KIND_ARGS=(-sf "$SC/uac.xml" -inf "$DATA/callers.csv" -p "$UAC_PORT" -mi "$LOOP" -mp "$UAC_MEDIA_PORT"
		-auth_uri "$CALL_TARGET@$DOMAIN1" -d "$CALL_HOLD_MS")
}

# ------------------------------------------------------------ phase: SIPp ceilings
phase_sipp() {
	note "SIPp ceiling: REGISTER against a SIPp mock registrar"
	mkdir -p "$OUT/mock"
	start_bg "$OUT/mock/sipp.out" "${SRV_PIN[@]}" timeout -k 5 "$MAX_RUNTIME" "$SIPP" -sf "$SC/registrar_mock.xml" -i "$LOOP" -p "$MOCK_PORT" \
		-m 100000000 -timeout "${MAX_RUNTIME}s" -nostdin -buff_size "$SOCKBUF"
	local mock=$LAST_PID
	sleep 0.5
	TARGET_PIDS=() REMOTE=$LOOP:$MOCK_PORT
	reg_args
	sweep sipp reg $REG_RATES
	stop_pid "$mock"

	note "SIPp ceiling: UAC -> UAS calls"
	start_uas sipp-uas ""
	local uas=$UAS_WRAP
	REMOTE=$LOOP:$UAS_PORT
	call_args
	sweep sipp call $CALL_RATES
	stop_pid "$uas"
}

# ------------------------------------------------------------ phase: Kamailio
kam_shm() { # bytes of shared memory Kamailio has allocated (real_used: with allocator overhead)
	kamcmd -s "$KAM_CTL" core.shmmem 2>/dev/null | awk '$1 == "real_used:" { print $2; f = 1 } END { if (!f) print 0 }'
}
# kam_start NAME [-A DEFINE]...: starts Kamailio; sets KAM_WRAP, TARGET_PIDS, REMOTE.
kam_start() {
	local name=$1 i main
	shift
	KAM_CTL=unix:$OUT/$name-run/ctl.sock
	local defs=(-A "DBURL=\"text://$DATA/kamdb\"" -A "UAS_URI=\"sip:$LOOP:$UAS_PORT\"" -A "SOCKBUF=$SOCKBUF"
		-A "CTL_SOCK=\"$KAM_CTL\"" "$@")
	[[ $KAM_CALL_AUTH == 1 ]] && defs+=(-A WITH_CALLAUTH)
	[[ $KAM_SHM_PREFAULT == 1 ]] && defs+=(-A SHM_PREFAULT)
	mkdir -p "$OUT/$name-run"
	note "Kamailio $("$KAMAILIO" -v 2>/dev/null | awk '/^version/ { print $3 }'): -x fm, $KAM_CHILDREN children, ${KAM_SHM_MB} MB shm"
	start_bg "$OUT/$name.log" "${SRV_PIN[@]}" timeout -k 10 "$MAX_RUNTIME" "$KAMAILIO" -f "$HERE/kamailio/kamailio.cfg" -x fm \
		-m "$KAM_SHM_MB" -M "$KAM_PKG_MB" -n "$KAM_CHILDREN" -l "udp:$LOOP:$KAM_PORT" -DD -E \
		-Y "$OUT/$name-run" -P "$OUT/$name-run/kamailio.pid" "${defs[@]}"
	KAM_WRAP=$LAST_PID
	main=$(child_of "$KAM_WRAP") || { echo "bench: kamailio did not start (see $OUT/$name.log)" >&2; return 1; }
	for ((i = 0; i < 100; i++)); do
		udp_listening "$KAM_PORT" && break
		kill -0 "$main" 2>/dev/null || { echo "bench: kamailio exited (see $OUT/$name.log)" >&2; return 1; }
		sleep 0.1
	done
	sleep 1 # children
	mapfile -t TARGET_PIDS < <(tree_of "$main")
	note "Kamailio: ${#TARGET_PIDS[@]} processes, memory $(mem_kb "${TARGET_PIDS[@]}") KiB (PSS)"
	REMOTE=$LOOP:$KAM_PORT
}

phase_kamailio() {
	kam_start kamailio
	local wrap=$KAM_WRAP

	local m0 m1 a0 a1
	m0=$(mem_kb "${TARGET_PIDS[@]}")
	a0=$(kam_shm)
	fill kamailio "$REMOTE"
	sleep "$MEM_SETTLE"
	m1=$(mem_kb "${TARGET_PIDS[@]}")
	a1=$(kam_shm)
	R[kamailio.rssreg]=$(awk -v a="$m0" -v b="$m1" -v n="$USERS" 'BEGIN { printf "%.2f", (b - a) / n }')
	R[kamailio.allocreg]=$(awk -v a="$a0" -v b="$a1" -v n="$USERS" 'BEGIN { printf "%.2f", (b - a) / n / 1024 }')
	note "Kamailio: PSS ${m0} -> ${m1} KiB for $USERS bindings; shared memory in use +${R[kamailio.allocreg]} KiB/registration"
	reg_args
	if [[ " $KAM_PARTS " == *" reg "* ]]; then
		sweep kamailio reg $REG_RATES
		rtd_steps kamailio reg $RTD_REG_RATES
	fi

	if [[ " $KAM_PARTS " == *" call "* ]]; then
		start_uas kam-uas ""
		local uas=$UAS_WRAP
		call_args
		sweep kamailio call $CALL_RATES
		rtd_steps kamailio call $RTD_CALL_RATES
		rss_calls kamailio "$REMOTE" kam_shm
		stop_pid "$uas"
	fi
	stop_pid "$wrap"
}

# relay_run SYS REMOTE PKT_CMD PID...: RELAY_CALLS concurrent G.711 calls of
# RELAY_SECS through REMOTE, the callee echoing (already started); packets =
# rise of PKT_CMD's output, CPU = utime+stime of PIDs (the relay's processes).
relay_run() {
	local sys=$1 remote=$2 pktcmd=$3
	shift 3
	local dir=$OUT/$sys-relay p0 p1 c0 c1 k0 k1 rc b0 b1 t0b t1b ramp=2 rate
	note "$sys relay: $RELAY_CALLS concurrent G.711 calls for ${RELAY_SECS} s"
	rate=$(((RELAY_CALLS + ramp - 1) / ramp))
	wait_quiet
	p0=$($pktcmd)
	c0=$(cpu_ticks "$@") k0=$(sys_ticks "$@")
	read -r b0 t0b < <(box_ticks)
	if sipp_run "$dir" $((RELAY_SECS + ramp + 40)) -sf "$SC/uac_rtp.xml" -inf "$DATA/callers.csv" -p "$UAC_PORT" \
		-mi "$LOOP" -mp "$UAC_MEDIA_PORT" -auth_uri "$CALL_TARGET@$DOMAIN1" -d $((RELAY_SECS * 1000)) \
		-key rtp_stream "$DATA/silence.pcmu,-1,0" -r "$rate" -rp 1000 -m "$RELAY_CALLS" -l "$RELAY_CALLS" \
		-recv_timeout 10000 "$remote"; then rc=0; else rc=$?; fi
	sleep 1 # counters are updated when calls end
	c1=$(cpu_ticks "$@") k1=$(sys_ticks "$@")
	read -r b1 t1b < <(box_ticks)
	p1=$($pktcmd)
	R[$sys.relay.pkts]=$((p1 - p0))
	R[$sys.relay.pps]=$(awk -v p=$((p1 - p0)) -v s="$RELAY_SECS" 'BEGIN { printf "%.0f", p / s }')
	R[$sys.relay.cpu]=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v p=$((p1 - p0)) 'BEGIN { printf "%.2f", p ? d * 1e6 / hz / p : 0 }')
	R[$sys.relay.percore]=$(awk -v c="${R[$sys.relay.cpu]}" 'BEGIN { printf "%.0f", (c > 0 ? 1e6 / c : 0) }')
	R[$sys.relay.box]=$(awk -v b=$((b1 - b0)) -v t=$((t1b - t0b)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
	note "$sys relay: $((p1 - p0)) packets (calls ok $(stat_col "$dir/stat.csv" 'SuccessfulCall(C)'), failed $(stat_col "$dir/stat.csv" 'FailedCall(C)'), rc $rc): ${R[$sys.relay.pps]} pkt/s, ${R[$sys.relay.cpu]} CPU-us/pkt ($(awk -v k=$((k1 - k0)) -v d=$((c1 - c0)) 'BEGIN { printf "%.0f", d ? 100 * k / d : 0 }')% in the kernel), box ${R[$sys.relay.box]}% busy"
}

# ------------------------------------------------------------ phase: rtpengine
# Kamailio (proxy, rtpengine module) + rtpengine in userspace mode (--table=-1)
# as the relay reference; skipped when rtpengine is not installed.
phase_rtpengine() {
	if ! command -v "$RTPENGINE" >/dev/null; then
		note "rtpengine not installed: relay comparison skipped (Debian: apt-get install rtpengine-daemon)"
		return 0
	fi
	mkdir -p "$OUT/rtpengine"
	start_bg "$OUT/rtpengine/rtpengine.log" "${SRV_PIN[@]}" timeout -k 10 "$MAX_RUNTIME" "$RTPENGINE" --config-file=none --foreground \
		--log-stderr --log-level=4 --interface="$LOOP" --listen-ng="$LOOP:$RTPE_NG_PORT" \
		--listen-http="$LOOP:$RTPE_HTTP_PORT" --port-min="${RTPE_PORTS%-*}" --port-max="${RTPE_PORTS#*-}" \
		--table=-1 --num-threads="$RTPE_THREADS" --delete-delay=0 --pidfile="$OUT/rtpengine/rtpengine.pid"
	local rwrap=$LAST_PID rpid i
	rpid=$(child_of "$rwrap") || { echo "bench: rtpengine did not start" >&2; return 1; }
	for ((i = 0; i < 100; i++)); do
		curl -fsS -m 1 "http://$LOOP:$RTPE_HTTP_PORT/metrics" >/dev/null 2>&1 && break
		sleep 0.1
	done
	note "rtpengine $("$RTPENGINE" --version 2>&1 | awk '/Version/ { print $2 }'): userspace, $RTPE_THREADS threads"
	kam_start kamailio-rtpengine -A WITH_RTPENGINE -A "RTPENGINE_SOCK=\"udp:$LOOP:$RTPE_NG_PORT\""
	local kwrap=$KAM_WRAP kpids=("${TARGET_PIDS[@]}")
	start_uas rtpe-uas "" -rtp_echo
	perf_start rtpe-relay "$rpid"
	relay_run rtpengine "$REMOTE" rtpe_packets "$rpid"
	perf_stop
	stop_pid "$UAS_WRAP"
	stop_pid "$kwrap"
	stop_pid "$rwrap"
}
rtpe_packets() {
	curl -fsS -m 5 "http://$LOOP:$RTPE_HTTP_PORT/metrics" |
		awk '$1 ~ /^rtpengine_packets_total/ { s += $NF } END { printf "%.0f\n", s }'
}

# ------------------------------------------------------------ phase: Switchboard
sb_metric() { # sb_metric NAME: sum of every series of NAME
	curl -fsS -m 5 -H "Authorization: Bearer $SB_TOKEN" "http://$LOOP:$SB_HTTP_PORT/metrics" |
		awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}
sb_heap() { # Go heap in use right after a forced GC (the heap profile request runs one): live memory
	sb_pprof "sb-heap-calls-$SECONDS.pprof" 'heap?gc=1'
	sb_metric go_memstats_heap_inuse_bytes
}
sb_ports_rest() { sleep "$SB_PORT_WAIT"; }
alloc_per_call() { # alloc_per_call BEFORE AFTER CALLS: bytes and objects allocated per call between two Go heap profiles
	command -v go >/dev/null && [[ -s $1 && -s $2 && $3 -gt 0 ]] || return 0
	local sum='/^Samples:/ { s = 1; next } /^Locations/ { exit } s && /^ *[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+:/ { o += $1; b += $2 } END { print o + 0, b + 0 }'
	local o0 b0 o1 b1
	read -r o0 b0 < <(go tool pprof -raw "$1" 2>/dev/null | awk "$sum")
	read -r o1 b1 < <(go tool pprof -raw "$2" 2>/dev/null | awk "$sum")
	awk -v o="$((o1 - o0))" -v b="$((b1 - b0))" -v n="$3" 'BEGIN { printf "%.1f KiB, %.0f objects", b / 1024 / n, o / n }'
}
sb_pprof() { # sb_pprof FILE QUERY: save a Go profile (/debug/pprof/QUERY, admin token); quiet if the binary has none
	local t=60
	[[ $2 == *seconds=* ]] && t=$((${2##*seconds=} + 30))
	curl -fsS -m "$t" -H "Authorization: Bearer $SB_TOKEN" \
		"http://$LOOP:$SB_HTTP_PORT/debug/pprof/$2" -o "$OUT/$1" 2>/dev/null || rm -f "$OUT/$1"
}
# TRACE_RATES="R...": a Go runtime trace of Switchboard over TRACE_SECS s of each of those steps,
# from 1 s in (go tool trace -pprof=sched FILE: where goroutines waited for a CPU).
sb_trace() { sleep 1; sb_pprof "$1" "trace?seconds=${TRACE_SECS:-5}"; }
# PPROF=1: a CPU profile of Switchboard over the first PPROF_SECS s of a sweep, in the background.
PPROF_PID=
pprof_start() { # pprof_start NAME [SECS]
	[[ ${PPROF:-0} == 1 ]] || return 0
	# Go serves one CPU profile at a time: a second request while the
	# previous sweep's profile runs would fail, so let that one finish.
	[[ -z $PPROF_PID ]] || wait "$PPROF_PID" 2>/dev/null || true
	start_bg /dev/null sb_pprof "$1.cpu.pprof" "profile?seconds=${2:-${PPROF_SECS:-20}}"
	PPROF_PID=$LAST_PID
	note "pprof: $OUT/$1.cpu.pprof (go tool pprof -top -cum $OUT/$1.cpu.pprof)"
}

# PERF=1: sample the server with perf during a sweep (PERF_FREQ Hz, call graphs).
PERF_PID=
perf_start() { # perf_start NAME PID
	[[ ${PERF:-0} == 1 ]] || return 0
	command -v perf >/dev/null || { note "perf not found; PERF=1 ignored"; return 0; }
	start_bg "$OUT/$1.perf.log" timeout -k 5 "$MAX_RUNTIME" perf record -F "${PERF_FREQ:-499}" -g -p "$2" -o "$OUT/$1.perf.data"
	PERF_PID=$LAST_PID PERF_NAME=$1
}
perf_stop() {
	[[ -n $PERF_PID ]] || return 0
	stop_pid "$PERF_PID"
	PERF_PID=
	perf report -i "$OUT/$PERF_NAME.perf.data" --stdio --no-children --sort symbol --percent-limit 0.7 \
		>"$OUT/$PERF_NAME.perf.txt" 2>/dev/null || true
	perf report -i "$OUT/$PERF_NAME.perf.data" --stdio --children --sort symbol --percent-limit 3 -g none \
		>"$OUT/$PERF_NAME.perf-children.txt" 2>/dev/null || true
	note "perf profile: $OUT/$PERF_NAME.perf.txt (self), $OUT/$PERF_NAME.perf-children.txt (inclusive)"
}

phase_switchboard() {
	local bin=${SB_BIN:-}
	if [[ -z $bin ]]; then
		bin=$OUT/switchboard
		note "building Switchboard from $ROOT"
		(cd "$ROOT" && go build -o "$bin" ./cmd/switchboard) || {
			echo "bench: go build failed; set SB_BIN to a built binary" >&2
			return 1
		}
	fi
	SB_TOKEN=bench-$RANDOM$RANDOM
	note "Switchboard $("$bin" version 2>/dev/null | sed -n 1p): log level $SB_LOG_LEVEL, rtp ports $SB_RTP_PORTS"
	start_bg "$OUT/switchboard.log" "${SRV_PIN[@]}" timeout -k 10 "$MAX_RUNTIME" "$bin" serve --sip "$LOOP:$SB_PORT" \
		--http "$LOOP:$SB_HTTP_PORT" --data "$OUT/sb-data" --admin-token "$SB_TOKEN" --rtp-ports "$SB_RTP_PORTS" \
		--log-level "$SB_LOG_LEVEL" --max-user-pstn-calls 0 --intl-calls-per-hour 0
	local wrap=$LAST_PID pid i
	pid=$(child_of "$wrap") || { echo "bench: switchboard did not start (see $OUT/switchboard.log)" >&2; return 1; }
	for ((i = 0; i < 300; i++)); do
		curl -fsS -m 1 "http://$LOOP:$SB_HTTP_PORT/healthz" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { echo "bench: switchboard exited (see $OUT/switchboard.log)" >&2; return 1; }
		sleep 0.1
	done
	SB_PID=$pid
	TARGET_PIDS=("$pid")
	local f t0=$SECONDS
	for f in "$DATA"/tenants/*.yaml ${DR_TENANT_YAML:+"$DR_TENANT_YAML"}; do
		"$bin" apply -f "$f" --server "http://$LOOP:$SB_HTTP_PORT" --token "$SB_TOKEN" >>"$OUT/apply.log" 2>&1 || {
			echo "bench: apply $f failed (see $OUT/apply.log)" >&2
			return 1
		}
	done
	note "Switchboard: provisioned $USERS users in $((SECONDS - t0)) s; memory $(mem_kb "$pid") KiB"
	REMOTE=$LOOP:$SB_PORT

	local m0 m1 h0 h1 g0 g1
	m0=$(mem_kb "$pid")
	h0=$(sb_metric go_memstats_heap_inuse_bytes)
	sb_pprof sb-heap-before-fill.pprof 'heap?gc=1' # forces a GC: the live heap before
	g0=$(sb_metric go_memstats_heap_inuse_bytes)
	fill switchboard "$REMOTE"
	sleep "$MEM_SETTLE"
	m1=$(mem_kb "$pid")
	h1=$(sb_metric go_memstats_heap_inuse_bytes)
	sb_pprof sb-heap-after-fill.pprof 'heap?gc=1' # and after: what the bindings hold
	g1=$(sb_metric go_memstats_heap_inuse_bytes)
	R[switchboard.rssreg]=$(awk -v a="$m0" -v b="$m1" -v n="$USERS" 'BEGIN { printf "%.2f", (b - a) / n }')
	R[switchboard.allocreg]=$(awk -v a="$h0" -v b="$h1" -v n="$USERS" 'BEGIN { printf "%.2f", (b - a) / n / 1024 }')
	R[switchboard.livereg]=$(awk -v a="$g0" -v b="$g1" -v n="$USERS" 'BEGIN { printf "%.2f", (b - a) / n / 1024 }')
	note "Switchboard: memory ${m0} -> ${m1} KiB for $USERS bindings, ${MEM_SETTLE} s after the last; Go heap in use +${R[switchboard.allocreg]} KiB/registration, after a forced GC +${R[switchboard.livereg]} (registrations now $(sb_metric switchboard_registrations)); heap profiles $OUT/sb-heap-*-fill.pprof"
	reg_args
	if [[ " $SB_PARTS " == *" reg "* ]]; then
		perf_start sb-reg "$pid"
		pprof_start sb-reg
		sweep switchboard reg $REG_RATES
		perf_stop
		rtd_steps switchboard reg $RTD_REG_RATES
	fi

	# The callee registers itself in the user profile; in the dr profile it is
	# the SBC the voice route points at ($SBC_IP:$UAS_PORT), unregistered, on
	# its own address: phones on 127.0.0.1 must not look like the gateway.
	local callee_reg=$REMOTE UAS_IP=$LOOP
	[[ $CALL_PROFILE == dr ]] && callee_reg= UAS_IP=$SBC_IP
	if [[ " $SB_PARTS " == *" call "* ]]; then
		start_uas sb-uas "$callee_reg"
		local uas=$UAS_WRAP
		call_args
		perf_start sb-call "$pid"
		pprof_start sb-call
		sb_pprof sb-heap-before-calls.pprof 'heap?gc=1' # allocation counters before the sweep
		local s0 ncalls
		s0=$(wc -l <"$STEPS")
		AFTER_STEP=sb_ports_rest sweep switchboard call $CALL_RATES
		perf_stop
		sb_pprof sb-heap-after-calls.pprof 'heap?gc=1'
		ncalls=$(tail -n +$((s0 + 1)) "$STEPS" | awk -F'\t' '$1 == "switchboard" && $2 == "call" { n += $5 } END { print n + 0 }')
		R[switchboard.callalloc]=$(alloc_per_call "$OUT/sb-heap-before-calls.pprof" "$OUT/sb-heap-after-calls.pprof" "$ncalls")
		note "Switchboard: allocated per call over the sweep ($ncalls calls): ${R[switchboard.callalloc]:-n/a (no go tool or no profile)}"
		AFTER_STEP=sb_ports_rest rtd_steps switchboard call $RTD_CALL_RATES
		rss_calls switchboard "$REMOTE" sb_heap
		sb_ports_rest
		stop_pid "$uas"
	fi
	if [[ " $SB_PARTS " != *" relay "* ]]; then
		stop_pid "$wrap"
		return 0
	fi

	# Relay: concurrent G.711 calls, RTP streamed by the caller and echoed by
	# the callee; in the dr profile the same route with the media anchored.
	if [[ $CALL_PROFILE == dr && -f $DATA/dr-anchored.yaml ]]; then
		"$bin" apply -f "$DATA/dr-anchored.yaml" --server "http://$LOOP:$SB_HTTP_PORT" --token "$SB_TOKEN" >>"$OUT/apply.log" 2>&1 || {
			echo "bench: apply $DATA/dr-anchored.yaml failed (see $OUT/apply.log)" >&2
			return 1
		}
	fi
	start_uas sb-uas-rtp "$callee_reg" -rtp_echo
	perf_start sb-relay "$pid"
	pprof_start sb-relay $((RELAY_SECS + 3))
	relay_run switchboard "$REMOTE" "sb_metric switchboard_media_packets_total" "$pid"
	perf_stop
	stop_pid "$UAS_WRAP"
	stop_pid "$wrap"
}

T_START=$SECONDS
for ph in $PHASES; do
	case $ph in
	sipp) phase_sipp ;;
	kamailio) phase_kamailio ;;
	switchboard) phase_switchboard ;;
	rtpengine) phase_rtpengine ;;
	*) echo "bench: unknown phase $ph" >&2; exit 2 ;;
	esac
done

# ------------------------------------------------------------ table
g() { echo "${R[$1]:-}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || a + 0 == 0 || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# common_rate SYS1 SYS2 KIND: the highest rate both passed (CPU comparison)
common_rate() {
	local r best=
	for r in $(g "$1.$3.passed"); do
		[[ " $(g "$2.$3.passed") " == *" $r "* ]] || continue
		[[ -z $best ]] || ((r > best)) && best=$r
	done
	echo "$best"
}
# half_rate SYS1 SYS2 KIND: the passed rate nearest below half the lower maximum
half_rate() {
	local lim r best=
	lim=$(awk -v a="$(g "$1.$3.max")" -v b="$(g "$2.$3.max")" 'BEGIN { m = a < b ? a : b; print m / 2 }')
	for r in $(g "$1.$3.passed"); do
		[[ " $(g "$2.$3.passed") " == *" $r "* ]] || continue
		awk -v r="$r" -v l="$lim" 'BEGIN { exit !(r <= l * 1.01) }' || continue
		[[ -z $best ]] || ((r > best)) && best=$r
	done
	[[ -n $best ]] || best=$(common_rate "$1" "$2" "$3")
	echo "$best"
}
row() { printf '| %-48s | %18s | %18s | %6s |\n' "$1" "$2" "$3" "$4"; }
# rtd_rate KIND HALF: the captured rate both systems have, nearest below HALF
# (else the lowest they share)
rtd_rate() {
	local r best= low=
	for r in $(g "switchboard.$1.rtd.rates"); do
		[[ -n $(g "kamailio.$1.rtd.$r") ]] || continue
		[[ -z $low ]] || ((r < low)) && low=$r
		[[ -n $2 ]] && ((r <= $2)) && { [[ -z $best ]] || ((r > best)); } && best=$r
	done
	echo "${best:-$low}"
}
rtdcell() { # rtdcell SYS KIND RATE [FIELD]: "p50 / p99 / p99.9" from the capture (FIELD of the p50: 2 the flow, 9 the transaction)
	local v
	v=$(g "$1.$2.rtd.$3")
	[[ -n $v ]] || { echo "-"; return; }
	awk -F'\t' -v f="${4:-2}" '{ print $f " / " $(f + 2) " / " $(f + 3) }' <<<"$v"
}
rtddiff() { # rtddiff KIND RATE [FIELD]: Switchboard's p99 minus Kamailio's, ms
	local a b f=$((${3:-2} + 2))
	a=$(g "switchboard.$1.rtd.$2") b=$(g "kamailio.$1.rtd.$2")
	[[ -n $a && -n $b ]] || { echo "-"; return; }
	awk -v a="$(cut -f$f <<<"$a")" -v b="$(cut -f$f <<<"$b")" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.2f", a - b }'
}
maxcell() { # maxcell SYS KIND: the max, marked when the harness capped it
	local v c
	v=$(g "$1.$2.max")
	[[ -n $v ]] || { echo "-"; return; }
	[[ $v != 0 ]] || { echo "none passed"; return; }
	c=$(g "sipp.$2.max")
	if [[ -n $(g "$1.$2.harness") ]]; then
		v="≥$v (SIPp)"
	elif [[ $1 != sipp && -n $c ]] && awk -v v="$v" -v c="$c" 'BEGIN { exit !(v >= 0.9 * c) }'; then
		v="$v (≈SIPp)"
	fi
	echo "$v"
}
overcell() { # overcell SYS: the share of the calls offered that completed at the first failing call step
	local d
	d=$(g "$1.call.overdone")
	[[ -n $d ]] && echo "$d % at $(g "$1.call.over")/s" || echo "-"
}
SBL="Switchboard"
[[ $CALL_PROFILE == user ]] && CALLS_LABEL="calls/s, 0 failures [SB: user→user]" || CALLS_LABEL="calls/s, 0 failures [SB: user→SBC via DR, media bypass]"
rr=$(common_rate switchboard kamailio reg)
rh=$(half_rate switchboard kamailio reg)
cr=$(common_rate switchboard kamailio call)
ch=$(half_rate switchboard kamailio call)
# A PSS that fell while calls were added says the process returned freed
# memory to the OS meanwhile (Go's scavenger, after the sweep), not what a
# call costs: the cell says so instead of printing a negative figure.
sbpss=$(g switchboard.rsscall)
if awk -v v="$sbpss" 'BEGIN { exit !(v + 0 < 0) }'; then
	sbpss="n/a ($sbpss: heap returned to the OS meanwhile; read the Go heap row)"
fi
{
	echo
	echo "Switchboard vs Kamailio on $(nproc --all) cores${SERVER_CPUS:+ (servers on CPUs $SERVER_CPUS, SIPp on $LOAD_CPUS)} (${IDLE_BUSY}% busy before the run), SIPp $("$SIPP" -v 2>/dev/null | awk '/SIPp v/ { print $2 }'), $(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - T_START)) s"
	echo
	row "figure" "$SBL" "Kamailio" "ratio"
	row "------" "---" "---" "---"
	row "REGISTER/s with digest, 0 failures, <1% retr" "$(maxcell switchboard reg)" "$(maxcell kamailio reg)" "$(ratio "$(g switchboard.reg.max)" "$(g kamailio.reg.max)")"
	row "CPU-µs per registration (at ${rr:-?}/s)" "$(g "switchboard.reg.cpu.$rr")" "$(g "kamailio.reg.cpu.$rr")" "$(ratio "$(g "switchboard.reg.cpu.$rr")" "$(g "kamailio.reg.cpu.$rr")")"
	row "REGISTER p50 / p99 (mean) ms (at ${rh:-?}/s)" "$(g "switchboard.reg.p50.$rh") / $(g "switchboard.reg.p99.$rh") ($(g "switchboard.reg.mean.$rh"))" "$(g "kamailio.reg.p50.$rh") / $(g "kamailio.reg.p99.$rh") ($(g "kamailio.reg.mean.$rh"))" "-"
	if [[ $RTD == 1 ]]; then
		x=$(rtd_rate reg "$rh")
		row "  captured, µs clock: p50 / p99 / p99.9 (at ${x:-?}/s) [ratio col: p99 Δ ms]" "$(rtdcell switchboard reg "$x")" "$(rtdcell kamailio reg "$x")" "$(rtddiff reg "$x")"
		row "    the 200's transaction alone" "$(rtdcell switchboard reg "$x" 9)" "$(rtdcell kamailio reg "$x" 9)" "$(rtddiff reg "$x" 9)"
	fi
	row "memory KiB per registration: PSS ($USERS bindings)" "$(g switchboard.rssreg)" "$(g kamailio.rssreg)" "$(ratio "$(g switchboard.rssreg)" "$(g kamailio.rssreg)")"
	row "  allocated: Go heap in use / Kamailio shm" "$(g switchboard.allocreg)" "$(g kamailio.allocreg)" "$(ratio "$(g switchboard.allocreg)" "$(g kamailio.allocreg)")"
	row "  live: Go heap after a forced GC / Kamailio shm" "$(g switchboard.livereg)" "$(g kamailio.allocreg)" "$(ratio "$(g switchboard.livereg)" "$(g kamailio.allocreg)")"
	row "$CALLS_LABEL" "$(maxcell switchboard call)" "$(maxcell kamailio call)" "$(ratio "$(g switchboard.call.max)" "$(g kamailio.call.max)")"
	row "calls completed at the first failing step" "$(overcell switchboard)" "$(overcell kamailio)" "-"
	row "CPU-µs per call (at ${cr:-?}/s)" "$(g "switchboard.call.cpu.$cr")" "$(g "kamailio.call.cpu.$cr")" "$(ratio "$(g "switchboard.call.cpu.$cr")" "$(g "kamailio.call.cpu.$cr")")"
	row "  allocated per call (Go heap profiles, whole sweep)" "${R[switchboard.callalloc]:-n/a}" "-" "-"
	row "INVITE→200 p50 / p99 (mean) ms (at ${ch:-?}/s)" "$(g "switchboard.call.p50.$ch") / $(g "switchboard.call.p99.$ch") ($(g "switchboard.call.mean.$ch"))" "$(g "kamailio.call.p50.$ch") / $(g "kamailio.call.p99.$ch") ($(g "kamailio.call.mean.$ch"))" "-"
	if [[ $RTD == 1 ]]; then
		x=$(rtd_rate call "$ch")
		row "  captured, µs clock: p50 / p99 / p99.9 (at ${x:-?}/s) [ratio col: p99 Δ ms]" "$(rtdcell switchboard call "$x")" "$(rtdcell kamailio call "$x")" "$(rtddiff call "$x")"
		row "    the 200's transaction alone" "$(rtdcell switchboard call "$x" 9)" "$(rtdcell kamailio call "$x" 9)" "$(rtddiff call "$x" 9)"
	fi
	row "memory KiB per active call: PSS ($RSS_CALLS calls)" "$sbpss" "$(g kamailio.rsscall)" "$(ratio "$(g switchboard.rsscall)" "$(g kamailio.rsscall)")"
	row "  allocated: Go heap after a forced GC / Kamailio shm" "$(g switchboard.alloccall)" "$(g kamailio.alloccall)" "$(ratio "$(g switchboard.alloccall)" "$(g kamailio.alloccall)")"
	rtcell=$(g rtpengine.relay.pps)
	row "relay: packets/s forwarded ($RELAY_CALLS G.711 calls)" "$(g switchboard.relay.pps)" "${rtcell:-n/a (no rtpengine)}" "$(ratio "$(g switchboard.relay.pps)" "$rtcell")"
	row "relay: CPU-µs per packet [Kamailio col: rtpengine]" "$(g switchboard.relay.cpu)" "$(g rtpengine.relay.cpu)" "$(ratio "$(g switchboard.relay.cpu)" "$(g rtpengine.relay.cpu)")"
	row "relay: packets/s per core" "$(g switchboard.relay.percore)" "$(g rtpengine.relay.percore)" "$(ratio "$(g switchboard.relay.percore)" "$(g rtpengine.relay.percore)")"
	row "SIPp ceiling: REGISTER/s (mock registrar)" "$(maxcell sipp reg)" "" ""
	row "SIPp ceiling: calls/s UAC→UAS" "$(maxcell sipp call)" "" ""
	echo
	echo "Memory is PSS (Kamailio: summed over its processes); 'allocated' is Go's heap in use / Kamailio's shm real_used."
	echo "CPU is utime+stime of the server's processes. (≈SIPp): within 10 % of SIPp's own ceiling in this run."
	echo "Steps: $STEPS    logs: $OUT"
} | tee "$OUT/table.md"
