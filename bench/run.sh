#!/usr/bin/env bash
# Throughput benchmark: how fast connlens analyzes a capture, next to the cheapest possible
# read (cat) and the reference packet tool (tcpdump), all reading from the page cache.
#
#     bench/run.sh [SIZE]          # SIZE as gencap takes it: 200M, 1G (default), 5G ...
#
# Needs (installs nothing itself):
#   - tcpdump
#   - GNU time at /usr/bin/time (Debian/Ubuntu package `time`: apt-get install -y time),
#     for wall time, user+sys CPU and peak RSS of each run; bash's `time` gives no RSS.
# Environment: RUNS (default 3) runs per tool; SEED (default 1) for the generator.
# Everything goes to bench/out/ (gitignored); see bench/README.md for the columns.
set -euo pipefail

SIZE=${1:-1G}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"

missing=0
command -v tcpdump >/dev/null || { echo "run.sh: tcpdump not found (apt-get install -y tcpdump)" >&2; missing=1; }
[ -x /usr/bin/time ] || { echo "run.sh: GNU time not found at /usr/bin/time (apt-get install -y time)" >&2; missing=1; }
command -v python3 >/dev/null || { echo "run.sh: python3 not found" >&2; missing=1; }
[ "$missing" = 0 ] || exit 1

echo "== build (release)"
cargo build --release --quiet
cargo build --release --quiet --example gencap --example read_speed

PCAP="$OUT/mix-$SIZE.pcap"
EXPECTED="$OUT/mix-$SIZE.expected.jsonl"
echo "== generate: gencap --kind mix --size $SIZE --seed $SEED"
/usr/bin/time -f "gencap: %e s wall, %U s user, %S s sys, %M KB peak RSS" \
    target/release/examples/gencap --kind mix --size "$SIZE" --seed "$SEED" \
    --out "$PCAP" --expected "$EXPECTED"
FILE_BYTES=$(stat -c %s "$PCAP")

# Warm the page cache once, so every tool below reads from memory, not disk.
cat "$PCAP" > /dev/null

CONNLENS=target/release/connlens
HAVE_CONNLENS=0
if [ -x "$CONNLENS" ]; then HAVE_CONNLENS=1; fi

MEAS="$OUT/measurements-$SIZE.txt"
: > "$MEAS"
TIMEF="$OUT/.time"

# measure NAME OUTFILE CMD...: RUNS runs; appends "NAME wall cpu rss_kb" per run to $MEAS.
measure() {
    local name=$1 out=$2
    shift 2
    local i
    for ((i = 1; i <= RUNS; i++)); do
        /usr/bin/time -f "%e %U %S %M" -o "$TIMEF" "$@" > "$out" 2> "$OUT/.stderr" || {
            echo "run.sh: $name failed:" >&2
            cat "$OUT/.stderr" >&2
            return 1
        }
        read -r wall user sys rss < "$TIMEF"
        echo "$name $wall $(python3 -c "print($user + $sys)") $rss" >> "$MEAS"
        echo "   $name run $i: ${wall} s wall, $(python3 -c "print(round($user + $sys, 2))") s CPU, ${rss} KB peak RSS"
    done
}

echo "== time ($RUNS runs each, file in page cache)"
measure cat /dev/null cat "$PCAP"
measure tcpdump /dev/null tcpdump -nr "$PCAP" -w /dev/null
if [ "$HAVE_CONNLENS" = 1 ]; then
    measure connlens "$OUT/verdicts.jsonl" "$CONNLENS" analyze --format jsonl "$PCAP"
else
    echo "   connlens: MISSING ($CONNLENS not built in this worktree: the CLI has not landed);" \
        "skipped the connlens run and the verdict comparison"
fi

echo "== reader alone: connlens' CaptureReader vs libpcap (read_speed, $RUNS runs, median)"
READS="$OUT/read_speed-$SIZE.txt"
target/release/examples/read_speed "$PCAP" "$RUNS" | tee "$READS"

echo
echo "== results: mix $SIZE ($FILE_BYTES bytes)"
python3 - "$MEAS" "$READS" "$FILE_BYTES" <<'EOF' | tee "$OUT/results-$SIZE.txt"
import statistics, sys
meas, reads, file_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = {}
for line in open(meas):
    name, wall, cpu, rss = line.split()
    runs.setdefault(name, []).append((float(wall), float(cpu), int(rss)))
packets = None
read_rows = []
for line in open(reads):
    kv = dict(f.split("=", 1) for f in line.split())
    packets = int(kv["packets"])
    read_rows.append(("read:" + kv["reader"], float(kv["seconds"]), None, None))
rows = []
for name, rs in runs.items():
    rows.append((name, statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
                 statistics.median(r[2] for r in rs) / 1024))
rows += read_rows
base = {r[0]: r[1] for r in rows}
hdr = ("tool", "wall s", "CPU s", "MB/s", "packets/s", "x cat", "x tcpdump", "peak RSS MB")
print("%-14s %8s %8s %8s %11s %7s %9s %11s" % hdr)
for name, wall, cpu, rss in rows:
    w = max(wall, 1e-6)
    def ratio(ref):
        return "%.2f" % (w / base[ref]) if base.get(ref) else "-"
    print("%-14s %8.3f %8s %8.0f %11.0f %7s %9s %11s" % (
        name, wall, "-" if cpu is None else "%.3f" % cpu, file_bytes / 1e6 / w,
        (packets or 0) / w, ratio("cat"), ratio("tcpdump"),
        "-" if rss is None else "%.1f" % rss))
if "connlens" not in base:
    print("connlens: missing (CLI not built yet); rows above are the reference tools only")
r = {n: s for n, s, _, _ in read_rows}
if "read:connlens" in r and "read:libpcap" in r:
    f = r["read:libpcap"] / r["read:connlens"]
    print("reader: connlens' CaptureReader is %.2fx %s than libpcap on this file" % (
        f if f >= 1 else 1 / f, "faster" if f >= 1 else "slower"))
EOF

if [ "$HAVE_CONNLENS" = 1 ]; then
    echo
    echo "== verdicts vs expected"
    python3 bench/compare.py "$EXPECTED" "$OUT/verdicts.jsonl"
fi
rm -f "$TIMEF" "$OUT/.stderr"
