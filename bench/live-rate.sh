#!/usr/bin/env bash
# Measures the packet rate `connlens live` keeps up with on a veth pair, and its drop counters.
#
# Usage: bench/live-rate.sh [CONNLENS] [SECONDS]   (root; hping3, iproute2)
#
# A client and a server namespace joined by a veth pair (10.201.9.0/24, private, never leaves
# the namespaces, deleted on exit); hping3 floods SYNs from the client to a closed port on the
# server (each SYN a new attempt, each answered by the kernel's RST: the tracker's worst case,
# a verdict per two packets) at increasing rates, then with --flood; connlens live watches the
# client's veth with --format jsonl > /dev/null and prints its capture counters.
set -euo pipefail
BIN=${1:-target/release/connlens}
SECS=${2:-5}
[[ $(id -u) -eq 0 ]] || { echo "live-rate.sh: needs root" >&2; exit 2; }
command -v hping3 >/dev/null || { echo "live-rate.sh: needs hping3 (apt-get install hping3)" >&2; exit 2; }
C=cl-rate-$$-c S=cl-rate-$$-s
TMP=$(mktemp -d)
cleanup() { ip netns del "$C" 2>/dev/null || true; ip netns del "$S" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
ip netns add "$C"; ip netns add "$S"
ip link add veth-c netns "$C" type veth peer name veth-s netns "$S"
ip -n "$C" addr add 10.201.9.1/24 dev veth-c; ip -n "$S" addr add 10.201.9.2/24 dev veth-s
for ns in "$C" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$C" link set veth-c up; ip -n "$S" link set veth-s up
sleep 0.2

printf '%-12s %10s %10s %12s %12s %12s %10s\n' rate sent/s received kernel-drop if-drop connlens-drop attempts
for mode in 10000 50000 100000 200000 flood; do
  ip netns exec "$C" "$BIN" live -i veth-c --format jsonl --syn-timeout 1 >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  for _ in $(seq 50); do grep -q listening "$TMP/err" && break; sleep 0.1; done
  if [[ $mode == flood ]]; then rate=(--flood); else rate=(-i "u$((1000000 / mode))"); fi
  ip netns exec "$C" timeout -s INT "$SECS" hping3 -S -p 9 "${rate[@]}" 10.201.9.2 >"$TMP/hping" 2>&1 || true
  sleep 1.5
  kill -INT "$pid"; wait "$pid"
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/hping")
  tail -1 "$TMP/out" | python3 -c '
import json, sys
s = json.load(sys.stdin); c = s["capture"]
mode, sent, secs = sys.argv[1], int(sys.argv[2] or 0), float(sys.argv[3])
row = (mode, sent / secs, c["received"], c["dropped_by_kernel"], c["dropped_by_interface"],
       c["dropped_by_connlens"], s["attempts"])
print("%-12s %10.0f %10s %12s %12s %12s %10s" % row)
' "$mode" "${sent:-0}" "$SECS"
done
