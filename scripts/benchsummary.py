"""Summarize `go test -bench` output (stdin): for every benchmark its
figures, then the bounds measured in the same run, then the ratios, and a
table of the issues' budgets with pass/fail. Standard library only."""
import re
import sys

# Units that name a bound (measured in the same run) or a ratio to one.
BOUND = re.compile(r"(^bound|bound$|^bare-|log-pair|^sha256|^floor|^old-)")
RATIO = re.compile(r"(ratio|^x-)")
SKIP = {"B/op", "allocs/op"}

# Budgets from the issues: (benchmark, unit, comparison, limit, text).
BUDGETS = [
    ("BenchmarkIngestLoad", "records/s", ">=", 2000, "issue 6: acknowledged durable records/s, 32 clients"),
    ("BenchmarkIngestLoad", "p99-ms", "<=", 250, "issue 6: p99 acknowledgement latency"),
    ("BenchmarkIngestLargeRSS", "rss-hwm-MiB", "<=", 256, "issue 6: daemon peak RSS after 1,000,000 records"),
    ("BenchmarkIngestLargeRSS", "rss-MiB", "<=", 256, "issue 6: daemon RSS after 1,000,000 records"),
]


def parse(lines):
    rows = []
    for line in lines:
        if not line.startswith("Benchmark"):
            continue
        parts = line.split()
        name = re.sub(r"-\d+$", "", parts[0])
        metrics = [(u, v) for v, u in zip(parts[2::2], parts[3::2]) if u not in SKIP]
        rows.append((name, metrics))
    return rows


def show(rows):
    width = max((len(n) for n, _ in rows), default=10)
    for name, metrics in rows:
        figs = [f"{v} {u}" for u, v in metrics if not BOUND.search(u) and not RATIO.search(u)]
        bounds = [f"{v} {u}" for u, v in metrics if BOUND.search(u) and not RATIO.search(u)]
        ratios = [f"{v} {u}" for u, v in metrics if RATIO.search(u)]
        line = f"{name:<{width}}  " + "  ".join(figs)
        if bounds:
            line += "  | bound: " + "  ".join(bounds)
        if ratios:
            line += "  | " + "  ".join(ratios)
        print(line)


def budgets(rows):
    got = {}
    for name, metrics in rows:
        for u, v in metrics:
            got[(name, u)] = float(v)
    out = []
    for bench, unit, op, limit, text in BUDGETS:
        if (bench, unit) not in got:
            continue
        v = got[(bench, unit)]
        ok = v >= limit if op == ">=" else v <= limit
        out.append(f"  {'ok  ' if ok else 'MISS'}  {v:g} {unit} (budget {op} {limit:g}) — {text}")
    if out:
        print("\nBudgets:")
        print("\n".join(out))


if __name__ == "__main__":
    rows = parse(sys.stdin)
    show(rows)
    budgets(rows)
