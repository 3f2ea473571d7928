#!/usr/bin/env bash
# bench/ab.sh: interleaved A/B runs of Switchboard binaries through run.sh.
#
#   bench/ab.sh KIND RATES ROUNDS BIN...
#   bench/ab.sh call "3000" 6 /tmp/sb-new /tmp/sb-old
#   bench/ab.sh reg "16000 24000" 3 /tmp/sb-new /tmp/sb-old
#
# KIND is call or reg; each round runs every BIN once (a fresh server and
# SIPp each time: PHASES=switchboard SB_PARTS=KIND, the rates in RATES,
# STEP_SECS seconds a step), one after the other, so a host that is busier
# for a while weighs on all of them. One run's CPU per call moves by
# ±15 % on the project's machine: compare the rounds, not one pair.
# Output: one line per step (binary, round, rate, CPU-µs, mean response
# time, verdict); the runs' directories are OUT_PREFIX-BIN-ROUND.
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n 2,16p "$0"; exit 2; }
kind=$1 rates=$2 rounds=$3
shift 3
case $kind in
call) var=CALL_RATES secs=CALL_STEP_SECS extra=(USERS="${USERS:-1000}") ;;
reg) var=REG_RATES secs=REG_STEP_SECS extra=() ;;
*) echo "ab.sh: KIND is call or reg, not $kind" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
prefix=${OUT_PREFIX:-/tmp/ab-$kind}
printf 'binary\tround\trate\tcpu_us\tmean_ms\tverdict\n'
for ((r = 1; r <= rounds; r++)); do
	for bin in "$@"; do
		out=$prefix-$(basename "$bin")-$r
		env SB_BIN="$bin" PHASES=switchboard SB_PARTS="$kind" "$var=$rates" "$secs=${STEP_SECS:-20}" \
			MEM_SETTLE=2 QUIET_MAX="${QUIET_MAX:-20}" OUT="$out" "${extra[@]}" \
			"$here/run.sh" >"$out.log" 2>&1 || true
		awk -F'\t' -v b="$(basename "$bin")" -v r="$r" -v k="$kind" \
			'$1 == "switchboard" && $2 == k { printf "%s\t%s\t%s\t%s\t%s\t%s\n", b, r, $3, $8, $14, $12 }' "$out/steps.tsv"
	done
done
