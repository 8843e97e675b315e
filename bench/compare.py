#!/usr/bin/env python3
"""Compare connlens' verdicts with the ones gencap expected.

    compare.py EXPECTED.jsonl ACTUAL.jsonl

EXPECTED is gencap's --expected file (one line per attempt); ACTUAL is
`connlens analyze --format jsonl` output, of which only `"type": "flow"` lines count.
Lines are matched by (proto, client, client_port, server, server_port); a 5-tuple may be
used again later in a capture, so several lines with one key are matched in order of
appearance. Exits 1 when fewer than 99.9 % of the expected attempts got the expected
verdict (cause not required), 2 on unreadable input.
"""

import json
import sys
from collections import defaultdict, deque

THRESHOLD = 99.9
FIELDS = ("proto", "client", "client_port", "server", "server_port")


def key(obj):
    return tuple(obj.get(f) for f in FIELDS)


def read_jsonl(path, flows_only):
    """Yields (line number, object) for each JSON line (only flow lines if asked)."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"compare.py: {path}:{n}: not JSON: {e}")
            if flows_only and obj.get("type") != "flow":
                continue
            yield n, obj


def show(obj):
    return "{} {}:{} -> {}:{}".format(*key(obj))


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    expected_path, actual_path = sys.argv[1], sys.argv[2]

    # Expected attempts by key, in order of appearance; memory is one dict entry per attempt.
    expected = defaultdict(deque)
    total = 0
    for _, obj in read_jsonl(expected_path, flows_only=False):
        expected[key(obj)].append((obj["verdict"], obj["cause"]))
        total += 1

    same_verdict = same_both = extra = 0
    mismatches = []
    extras = []
    for n, obj in read_jsonl(actual_path, flows_only=True):
        queue = expected.get(key(obj))
        if not queue:
            extra += 1
            if len(extras) < 10:
                extras.append(f"  line {n}: {show(obj)}: {obj.get('verdict')}/{obj.get('cause')}")
            continue
        want_verdict, want_cause = queue.popleft()
        got_verdict, got_cause = obj.get("verdict"), obj.get("cause")
        if got_verdict == want_verdict:
            same_verdict += 1
            if got_cause == want_cause:
                same_both += 1
                continue
        if len(mismatches) < 10:
            mismatches.append(
                f"  line {n}: {show(obj)}: expected {want_verdict}/{want_cause}, "
                f"got {got_verdict}/{got_cause}"
            )
    missing = sum(len(q) for q in expected.values())

    def share(n):
        return 100.0 * n / total if total else 100.0

    print(f"expected attempts:         {total}")
    print(f"matched, same verdict:     {same_verdict}")
    print(f"matched, verdict + cause:  {same_both}")
    print(f"missing (expected, absent): {missing}")
    print(f"extra (not expected):      {extra}")
    print(f"share same verdict:        {share(same_verdict):.3f} %")
    print(f"share verdict + cause:     {share(same_both):.3f} %")
    if mismatches:
        print("first mismatches:")
        print("\n".join(mismatches))
    if extras:
        print("first extra lines:")
        print("\n".join(extras))
    if share(same_verdict) < THRESHOLD:
        print(f"FAIL: verdict share below {THRESHOLD} %")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
