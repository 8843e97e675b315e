#!/usr/bin/env bash
# Throughput and memory benchmark: connlens next to the cheapest possible read (cat) and the
# reference packet tools (tcpdump, tshark), all reading the same generated captures from the
# page cache, in the same run; then connlens' verdicts are checked against the generator's.
#
#     bench/run.sh [SIZE]          # SIZE of the mix capture as gencap takes it: 200M, 1G (default)
#
# Three captures (see bench/README.md):
#   mix       SIZE         realistic conversations and failures: the speed figure
#   flood     FLOOD_SIZE   (default 200M) 60-74 byte SYN flood answered by RSTs and ICMP errors
#   synflood  SYN_FLOWS    (default 10000000; 0 skips) distinct unanswered SYNs: memory bound
#   publish   PUBLISH_SIZE (default 30M; 0 skips) a flood analyzed with --format jsonl > file,
#             then also with --publish to a local nats-server -js: verdicts published per second
# plus tshark (`-q -z conv,tcp`, far slower) on a TSHARK_SIZE (default 100M) mix.
#
# Needs (installs nothing itself): tcpdump, python3, GNU time at /usr/bin/time (Debian
# package `time`); tshark is optional (its rows are skipped when missing).
# Environment: RUNS (default 3) runs per tool; SEED (default 1); THREADS (default "1 2"):
# the --threads values to time connlens with.
# Everything goes to bench/out/ (gitignored); see bench/README.md for the columns.
set -euo pipefail

SIZE=${1:-1G}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
FLOOD_SIZE=${FLOOD_SIZE:-200M}
TSHARK_SIZE=${TSHARK_SIZE:-100M}
SYN_FLOWS=${SYN_FLOWS:-10000000}
PUBLISH_SIZE=${PUBLISH_SIZE:-30M}
THREADS=${THREADS:-1 2}
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"

missing=0
command -v tcpdump >/dev/null || { echo "run.sh: tcpdump not found (apt-get install -y tcpdump)" >&2; missing=1; }
[ -x /usr/bin/time ] || { echo "run.sh: GNU time not found at /usr/bin/time (apt-get install -y time)" >&2; missing=1; }
command -v python3 >/dev/null || { echo "run.sh: python3 not found" >&2; missing=1; }
[ "$missing" = 0 ] || exit 1
HAVE_NATS=0
if command -v nats-server >/dev/null; then HAVE_NATS=1; else
    echo "run.sh: nats-server not found (apt-get install -y nats-server): the publish rows are skipped" >&2
fi
HAVE_TSHARK=0
if command -v tshark >/dev/null; then HAVE_TSHARK=1; else
    echo "run.sh: tshark not found (apt-get install -y tshark): its rows are skipped" >&2
fi

echo "== build (release)"
cargo build --release --quiet
cargo build --release --quiet --example gencap --example read_speed
CONNLENS=target/release/connlens
GENCAP=target/release/examples/gencap
# --threads exists from the sharded tracker on; older trees time the single tracker only.
if ! "$CONNLENS" analyze --help | grep -q -- '--threads'; then THREADS=1; NO_THREADS_FLAG=1; fi
# --timings (CPU time per thread) likewise.
HAVE_TIMINGS=0
if "$CONNLENS" analyze --help | grep -q -- '--timings'; then HAVE_TIMINGS=1; fi

TIMEF="$OUT/.time"
RESULTS="$OUT/results-$SIZE.txt"
: > "$RESULTS"

# generate KIND NAME ARGS...: writes $OUT/NAME.pcap and $OUT/NAME.expected.jsonl.
generate() {
    local kind=$1 name=$2
    shift 2
    echo "== generate $name: gencap --kind $kind $* --seed $SEED"
    /usr/bin/time -f "   gencap: %e s wall, %M KB peak RSS" "$GENCAP" --kind "$kind" "$@" \
        --seed "$SEED" --out "$OUT/$name.pcap" --expected "$OUT/$name.expected.jsonl" 2>&1 |
        grep -E '^(gencap|   gencap)' || true
    cat "$OUT/$name.pcap" > /dev/null   # into the page cache: compare tools, not disks
}

# measure MEAS NAME OUTFILE CMD...: RUNS runs; appends "NAME wall cpu rss_kb" per run to MEAS.
measure() {
    local meas=$1 name=$2 out=$3
    shift 3
    local i wall user sys rss
    for ((i = 1; i <= RUNS; i++)); do
        /usr/bin/time -f "%e %U %S %M" -o "$TIMEF" "$@" > "$out" 2> "$OUT/.stderr" || {
            echo "run.sh: $name failed:" >&2
            cat "$OUT/.stderr" >&2
            return 1
        }
        read -r wall user sys rss < "$TIMEF"
        echo "$name $wall $user $sys $rss" >> "$meas"
        echo "   $name run $i: ${wall} s wall, ${user} s user + ${sys} s sys, ${rss} KB peak RSS"
    done
}

# connlens_runs MEAS NAME: connlens on $OUT/NAME.pcap for each THREADS value; checks verdicts.
connlens_runs() {
    local meas=$1 name=$2 t flag
    for t in $THREADS; do
        flag=()
        [ -n "${NO_THREADS_FLAG:-}" ] || flag=(--threads "$t")
        measure "$meas" "connlens-t$t" "$OUT/$name.verdicts.jsonl" \
            "$CONNLENS" analyze "${flag[@]}" --format jsonl "$OUT/$name.pcap"
        echo "   verdicts with --threads $t:"
        python3 bench/compare.py "$OUT/$name.expected.jsonl" "$OUT/$name.verdicts.jsonl" |
            sed 's/^/     /' | head -8
        if [ "$HAVE_TIMINGS" = 1 ]; then
            # One more run for where the time goes: CPU time of each thread.
            "$CONNLENS" analyze "${flag[@]}" --timings --format jsonl "$OUT/$name.pcap" \
                2>&1 >/dev/null | sed -n "s/^connlens: timings: /connlens-t$t by thread: /p" |
                tee -a "$OUT/.timings-$name" | sed 's/^/   /'
        fi
    done
}

# table NAME MEAS: the results table for one capture (medians), appended to RESULTS, then
# connlens' CPU time by thread (one run each).
table() {
    local name=$1 meas=$2 packets
    # Packets read, from the summary line of connlens' last output on this capture.
    packets=$(tail -n 1 "$OUT/$name.verdicts.jsonl" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["packets"]["read"])' || echo 0)
    python3 - "$name" "$meas" "$(stat -c %s "$OUT/$name.pcap")" "${packets:-0}" <<'EOF' | tee -a "$RESULTS"
import statistics, sys
name, meas, file_bytes, packets = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = {}
for line in open(meas):
    tool, wall, user, sys_, rss = line.split()
    runs.setdefault(tool, []).append((float(wall), float(user) + float(sys_), int(rss)))
med = {t: tuple(statistics.median(r[i] for r in rs) for i in range(3)) for t, rs in runs.items()}
print()
print("== %s: %d bytes, %d packets" % (name, file_bytes, packets))
hdr = ("tool", "wall s", "CPU s", "MB/s", "Mpkt/s", "Mpkt/s CPU", "x cat", "x cat CPU",
       "x tcpdump", "peak MB")
print("%-13s %7s %7s %7s %7s %10s %6s %9s %9s %8s" % hdr)
cat = med.get("cat")
tcpdump = med.get("tcpdump")
for tool, (wall, cpu, rss) in med.items():
    w, c = max(wall, 1e-3), max(cpu, 1e-3)
    print("%-13s %7.2f %7.2f %7.0f %7.2f %10.2f %6s %9s %9s %8.1f" % (
        tool, wall, cpu, file_bytes / 1e6 / w, packets / 1e6 / w, packets / 1e6 / c,
        "%.2f" % (w / max(cat[0], 1e-3)) if cat else "-",
        "%.2f" % (c / max(cat[1], 1e-3)) if cat else "-",
        "%.2f" % (w / max(tcpdump[0], 1e-3)) if tcpdump else "-", rss / 1024))
EOF
    if [ -f "$OUT/.timings-$name" ]; then
        tee -a "$RESULTS" < "$OUT/.timings-$name"
        rm -f "$OUT/.timings-$name"
    fi
}

# --- mix: the speed figure -------------------------------------------------------------------
generate mix "mix-$SIZE" --size "$SIZE"
MEAS="$OUT/measurements-mix-$SIZE.txt"
: > "$MEAS"
echo "== time mix-$SIZE ($RUNS runs each, file in page cache)"
measure "$MEAS" cat /dev/null cat "$OUT/mix-$SIZE.pcap"
measure "$MEAS" tcpdump /dev/null tcpdump -nr "$OUT/mix-$SIZE.pcap" -w /dev/null
connlens_runs "$MEAS" "mix-$SIZE"
echo "== reader alone: connlens' CaptureReader vs libpcap (read_speed, $RUNS runs, median)"
target/release/examples/read_speed "$OUT/mix-$SIZE.pcap" "$RUNS" | tee "$OUT/read_speed-$SIZE.txt"
table "mix-$SIZE" "$MEAS"

# --- tshark, on a smaller mix (it is far slower and takes memory in proportion) ---------------
if [ "$HAVE_TSHARK" = 1 ]; then
    generate mix "mix-$TSHARK_SIZE-tshark" --size "$TSHARK_SIZE"
    MEAS="$OUT/measurements-tshark.txt"
    : > "$MEAS"
    echo "== time mix-$TSHARK_SIZE-tshark ($RUNS runs each)"
    measure "$MEAS" cat /dev/null cat "$OUT/mix-$TSHARK_SIZE-tshark.pcap"
    measure "$MEAS" tcpdump /dev/null tcpdump -nr "$OUT/mix-$TSHARK_SIZE-tshark.pcap" -w /dev/null
    measure "$MEAS" tshark /dev/null tshark -n -q -z conv,tcp -r "$OUT/mix-$TSHARK_SIZE-tshark.pcap"
    connlens_runs "$MEAS" "mix-$TSHARK_SIZE-tshark"
    table "mix-$TSHARK_SIZE-tshark" "$MEAS"
fi

# --- flood: small packets, one verdict per two packets ---------------------------------------
generate flood "flood-$FLOOD_SIZE" --size "$FLOOD_SIZE"
MEAS="$OUT/measurements-flood.txt"
: > "$MEAS"
echo "== time flood-$FLOOD_SIZE ($RUNS runs each)"
measure "$MEAS" cat /dev/null cat "$OUT/flood-$FLOOD_SIZE.pcap"
measure "$MEAS" tcpdump /dev/null tcpdump -nr "$OUT/flood-$FLOOD_SIZE.pcap" -w /dev/null
connlens_runs "$MEAS" "flood-$FLOOD_SIZE"
table "flood-$FLOOD_SIZE" "$MEAS"

# --- synflood: memory under millions of distinct flows ---------------------------------------
if [ "$SYN_FLOWS" != 0 ]; then
    generate synflood "synflood-$SYN_FLOWS" --flows "$SYN_FLOWS"
    echo "== synflood-$SYN_FLOWS: one run per --max-flows (memory, not speed)"
    for cap in 500000 100000; do
        /usr/bin/time -f "%e %U %S %M" -o "$TIMEF" "$CONNLENS" analyze --max-flows "$cap" \
            --format jsonl "$OUT/synflood-$SYN_FLOWS.pcap" > "$OUT/synflood.verdicts.jsonl"
        read -r wall user sys rss < "$TIMEF"
        python3 - "$cap" "$wall" "$user" "$sys" "$rss" "$OUT/synflood.verdicts.jsonl" \
            "$SYN_FLOWS" <<'EOF' | tee -a "$RESULTS"
import json, sys
cap, wall, user, sys_, rss, path, flows = sys.argv[1:]
lines, summary = 0, {}
for l in open(path):
    o = json.loads(l)
    if o.get("type") == "flow":
        lines += 1
    elif o.get("type") == "summary":
        summary = o
evicted = summary.get("flows", {}).get("evicted", "?")
print("synflood %s flows, --max-flows %s: %.2f s wall, %.2f s CPU, %.1f MB peak RSS, "
      "%d verdicts, pushed out early (summary): %s" % (
          flows, cap, float(wall), float(user) + float(sys_), int(rss) / 1024, lines, evicted))
EOF
    done
fi
# --- publish: verdicts per second to a local JetStream, against a file ------------------------
if [ "$PUBLISH_SIZE" != 0 ] && [ "$HAVE_NATS" = 1 ] && "$CONNLENS" analyze --help | grep -q -- '--publish'; then
    generate flood "publish-$PUBLISH_SIZE" --size "$PUBLISH_SIZE"
    CAP="$OUT/publish-$PUBLISH_SIZE.pcap"
    MEAS="$OUT/measurements-publish.txt"
    : > "$MEAS"
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "== publish-$PUBLISH_SIZE: --format jsonl > file, then also --publish to nats-server -js on 127.0.0.1:$PORT ($RUNS runs each)"
    measure "$MEAS" jsonl-file "$OUT/publish.verdicts.jsonl" "$CONNLENS" analyze --format jsonl "$CAP"
    for ((i = 1; i <= RUNS; i++)); do
        # A fresh broker and store for every run: each run stores into an empty stream.
        rm -rf "$OUT/nats-store"
        nats-server -js -a 127.0.0.1 -p "$PORT" -sd "$OUT/nats-store" > "$OUT/nats.log" 2>&1 &
        NATS_PID=$!
        for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
        /usr/bin/time -f "%e %U %S %M" -o "$TIMEF" "$CONNLENS" analyze --format jsonl \
            --publish "nats://127.0.0.1:$PORT/bench" --sensor bench --stream BENCH \
            --stream-max-bytes 4294967296 "$CAP" > "$OUT/publish.published.jsonl" 2> "$OUT/.stderr" || {
            echo "run.sh: connlens --publish failed:" >&2; cat "$OUT/.stderr" >&2; }
        kill "$NATS_PID"; wait "$NATS_PID" 2>/dev/null || true
        read -r wall user sys rss < "$TIMEF"
        echo "jsonl+publish $wall $user $sys $rss" >> "$MEAS"
        echo "   jsonl+publish run $i: ${wall} s wall, ${user} s user + ${sys} s sys, ${rss} KB peak RSS"
    done
    rm -rf "$OUT/nats-store"
    python3 - "$MEAS" "$OUT/publish.verdicts.jsonl" "$OUT/publish.published.jsonl" <<'EOF' | tee -a "$RESULTS"
import json, statistics, sys
meas, plain, published = sys.argv[1:]
lines = sum(1 for _ in open(plain))
flows = sum(1 for l in open(plain) if l.startswith('{"type":"flow"'))
summary = json.loads(open(published).read().splitlines()[-1])
runs = {}
for line in open(meas):
    tool, wall, user, sys_, rss = line.split()
    runs.setdefault(tool, []).append((float(wall), float(user) + float(sys_), int(rss)))
print()
print("== publish: %d lines (%d verdicts), medians of %d runs" % (lines, flows, len(runs["jsonl-file"])))
print("%-14s %7s %7s %12s %12s %8s" % ("output", "wall s", "CPU s", "lines/s", "verdicts/s", "peak MB"))
for tool, rs in runs.items():
    wall, cpu, rss = (statistics.median(r[i] for r in rs) for i in range(3))
    print("%-14s %7.2f %7.2f %12.0f %12.0f %8.1f" % (tool, wall, cpu, lines / wall, flows / wall, rss / 1024))
print("last run's publish counters: %s" % json.dumps(summary.get("publish")))
EOF
    rm -f "$OUT/publish.verdicts.jsonl" "$OUT/publish.published.jsonl"
fi
rm -f "$TIMEF" "$OUT/.stderr"
echo
echo "== all results: $RESULTS"
