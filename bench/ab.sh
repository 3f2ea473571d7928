#!/usr/bin/env bash
# bench/ab.sh: interleaved A/B runs of Switchboard binaries (and Kamailio)
# through run.sh.
#
#   bench/ab.sh KIND RATES ROUNDS BIN...
#   bench/ab.sh call "3000" 6 /tmp/sb-new /tmp/sb-old
#   bench/ab.sh reg "16000 24000" 3 /tmp/sb-new /tmp/sb-old
#   bench/ab.sh reg "8000" 3 kamailio /tmp/sb-new
#
# KIND is call or reg; each round runs every BIN once (a fresh server and
# SIPp each time: PHASES=switchboard SB_PARTS=KIND, the rates in RATES,
# STEP_SECS seconds a step), one after the other, so a host that is busier
# for a while weighs on all of them. The word kamailio as a BIN runs
# Kamailio instead (PHASES=kamailio KAM_PARTS=KIND): its rounds against a
# binary's are the fair ratio on a host whose speed drifts. One run's CPU
# per call moves by ±15 % on the project's machine: compare the rounds,
# not one pair. With RTD (run.sh; on when tcpdump is here) every rate is
# also captured (RTD_*_RATES=RATES) and the 200's transaction p50/p99 are
# printed. Every other run.sh knob passes through the environment, e.g.
# SERVER_CPUS=1 LOAD_CPUS=0 to run each server on a CPU of its own
# (bench/README.md, "Placement").
# Output: one line per step (binary, round, rate, CPU-µs, mean response
# time, verdict, captured p50 and p99 in ms); the runs' directories are
# OUT_PREFIX-BIN-ROUND.
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n 2,24p "$0"; exit 2; }
kind=$1 rates=$2 rounds=$3
shift 3
case $kind in
call) var=CALL_RATES secs=CALL_STEP_SECS rtd=RTD_CALL_RATES extra=(USERS="${USERS:-1000}") ;;
reg) var=REG_RATES secs=REG_STEP_SECS rtd=RTD_REG_RATES extra=() ;;
*) echo "ab.sh: KIND is call or reg, not $kind" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
prefix=${OUT_PREFIX:-/tmp/ab-$kind}
printf 'binary\tround\trate\tcpu_us\tmean_ms\tverdict\trtd_p50_ms\trtd_p99_ms\n'
for ((r = 1; r <= rounds; r++)); do
	for bin in "$@"; do
		out=$prefix-$(basename "$bin")-$r
		sys=switchboard run=(SB_BIN="$bin" PHASES=switchboard SB_PARTS="$kind")
		[[ $bin == kamailio ]] && sys=kamailio run=(PHASES=kamailio KAM_PARTS="$kind")
		env "${run[@]}" "$var=$rates" "$rtd=$rates" "$secs=${STEP_SECS:-20}" \
			MEM_SETTLE=2 QUIET_MAX="${QUIET_MAX:-20}" OUT="$out" "${extra[@]}" \
			"$here/run.sh" >"$out.log" 2>&1 || true
		# The 200's transaction (fields 9 and 11 of bench/rtd -tsv) per rate.
		awk -F'\t' -v s="$sys" -v b="$(basename "$bin")" -v r="$r" -v k="$kind" '
			FILENAME ~ /rtd.tsv$/ { if ($1 == s && $2 == k) rtd[$3] = $12 "\t" $14; next }
			$1 == s && $2 == k { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b, r, $3, $8, $14, $12, ($3 in rtd) ? rtd[$3] : "-\t-" }' \
			"$(if [[ -s $out/rtd.tsv ]]; then echo "$out/rtd.tsv"; else echo /dev/null; fi)" "$out/steps.tsv"
	done
done
