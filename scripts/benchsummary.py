"""Summarize `go test -bench` output: every custom metric of every benchmark,
and ratios where a benchmark reports one. Reads stdin, prints a table."""
import re
import sys

rows = []
for line in sys.stdin:
    if not line.startswith("Benchmark"):
        continue
    parts = line.split()
    name = re.sub(r"-\d+$", "", parts[0])
    metrics = []
    for value, unit in zip(parts[2::2], parts[3::2]):
        metrics.append((unit, value))
    rows.append((name, metrics))

width = max((len(n) for n, _ in rows), default=10)
for name, metrics in rows:
    shown = "  ".join(f"{v} {u}" for u, v in metrics if u not in ("B/op", "allocs/op"))
    print(f"{name:<{width}}  {shown}")
