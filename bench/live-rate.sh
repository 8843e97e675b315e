#!/usr/bin/env bash
# Measures the packet rate `connlens live` keeps up with on a veth pair, and its drop counters.
#
# Usage: bench/live-rate.sh [CONNLENS] [SECONDS]   (root; hping3, iproute2)
#        PUBLISH=1 bench/live-rate.sh ...           also --publish to a nats-server -js
#
# A client and a server namespace joined by a veth pair (10.201.9.0/24, private, never leaves
# the namespaces, deleted on exit); hping3 floods SYNs from the client to a closed port on the
# server (each SYN a new attempt, each answered by the kernel's RST: the tracker's worst case,
# a verdict per two packets) at increasing rates, then with --flood; connlens live watches the
# client's veth with --format jsonl > /dev/null and prints its capture counters. With
# PUBLISH=1, connlens also publishes every line (--publish, --spool) to a nats-server -js on
# the client namespace's loopback (a fresh store per row), and the publish counters are printed.
set -euo pipefail
BIN=${1:-target/release/connlens}
SECS=${2:-5}
[[ $(id -u) -eq 0 ]] || { echo "live-rate.sh: needs root" >&2; exit 2; }
command -v hping3 >/dev/null || { echo "live-rate.sh: needs hping3 (apt-get install hping3)" >&2; exit 2; }
C=cl-rate-$$-c S=cl-rate-$$-s
PUBLISH=${PUBLISH:-0}
if [[ $PUBLISH == 1 ]]; then
  command -v nats-server >/dev/null || { echo "live-rate.sh: PUBLISH=1 needs nats-server" >&2; exit 2; }
fi
TMP=$(mktemp -d)
NATS_PID=
cleanup() {
  [[ -z $NATS_PID ]] || kill "$NATS_PID" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true; ip netns del "$S" 2>/dev/null || true; rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ip netns add "$C"; ip netns add "$S"
ip link add veth-c netns "$C" type veth peer name veth-s netns "$S"
ip -n "$C" addr add 10.201.9.1/24 dev veth-c; ip -n "$S" addr add 10.201.9.2/24 dev veth-s
for ns in "$C" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$C" link set veth-c up; ip -n "$S" link set veth-s up
sleep 0.2

printf '%-12s %10s %10s %12s %12s %12s %10s' rate sent/s received kernel-drop if-drop connlens-drop attempts
[[ $PUBLISH == 1 ]] && printf ' %10s %8s %8s %8s %6s' published spooled dropped left wait-s
echo
for mode in 10000 50000 100000 200000 flood; do
  publish=()
  if [[ $PUBLISH == 1 ]]; then
    rm -rf "$TMP/store" "$TMP/spool"
    # connlens drops its privileges after opening the capture: a spool it may write.
    chmod 711 "$TMP"; mkdir -m 777 "$TMP/spool"
    ip netns exec "$C" nats-server -js -a 127.0.0.1 -p 4222 -sd "$TMP/store" >"$TMP/nats.log" 2>&1 &
    NATS_PID=$!
    for _ in $(seq 100); do ip netns exec "$C" bash -c 'echo > /dev/tcp/127.0.0.1/4222' 2>/dev/null && break; sleep 0.05; done
    publish=(--publish nats://127.0.0.1:4222/rate --sensor rate --stream RATE --stream-max-bytes 4294967296
             --spool "$TMP/spool" --publish-wait 120)
  fi
  ip netns exec "$C" "$BIN" live -i veth-c --format jsonl --syn-timeout 1 "${publish[@]}" >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  for _ in $(seq 50); do grep -q listening "$TMP/err" && break; sleep 0.1; done
  if [[ $mode == flood ]]; then rate=(--flood); else rate=(-i "u$((1000000 / mode))"); fi
  ip netns exec "$C" timeout -s INT "$SECS" hping3 -S -p 9 "${rate[@]}" 10.201.9.2 >"$TMP/hping" 2>&1 || true
  sleep 1.5
  stopped=$(date +%s.%N)
  kill -INT "$pid" 2>/dev/null || { echo "live-rate.sh: connlens ended early:" >&2; cat "$TMP/err" >&2; }
  wait "$pid" || true
  waited=$(python3 -c "import time; print('%.1f' % (time.time() - $stopped))")
  if [[ $PUBLISH == 1 ]]; then kill "$NATS_PID"; wait "$NATS_PID" 2>/dev/null || true; NATS_PID=; fi
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/hping")
  tail -1 "$TMP/out" | python3 -c '
import json, sys
s = json.load(sys.stdin); c = s["capture"]
mode, sent, secs = sys.argv[1], int(sys.argv[2] or 0), float(sys.argv[3])
row = (mode, sent / secs, c["received"], c["dropped_by_kernel"], c["dropped_by_interface"],
       c["dropped_by_connlens"], s["attempts"])
line = "%-12s %10.0f %10s %12s %12s %12s %10s" % row
p = s.get("publish")
if p is not None:
    # wait-s: from the stop signal to the end of the run (the last lines being stored).
    line += " %10s %8s %8s %8s %6s" % (p["published"], p["spooled"], p["dropped"], p["left_in_spool"], sys.argv[4])
print(line)
' "$mode" "${sent:-0}" "$SECS" "$waited"
done
