"""Turn benchmark JSON files into the markdown tables of docs/performance.md:
python benchmarks/report.py bench-results.json [more.json ...]"""
import json
import sys


def fmt(t):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"


def main(paths):
    for path in paths:
        data = json.load(open(path))
        meta = data["meta"]
        cfg = meta["config"]
        print(f"Run of {meta['when']}: tinynet {cfg['tinynet']} ({cfg['simd_variant']}, "
              f"OpenMP {cfg['openmp']}, {cfg['threads']} threads), {meta['cpu_count']} CPUs, "
              f"numpy {cfg['numpy']}, peers {meta['peers']}\n")
        by_case = {}
        for r in data["results"]:
            by_case.setdefault((r["case"], r["dtype"]), []).append(r)
        for (case, dtype), rows in by_case.items():
            cols = []
            for r in rows:
                for name in r["median_s"]:
                    if name not in cols:
                        cols.append(name)
            print(f"**{case}, {dtype}** (median time; in brackets: time / tinynet 1T)\n")
            print("| N | " + " | ".join(cols) + " |")
            print("|---" * (len(cols) + 1) + "|")
            for r in rows:
                base = r["median_s"].get("tinynet 1T")
                cells = []
                for c in cols:
                    t = r["median_s"].get(c)
                    shown = t is not None and base and c != "tinynet 1T"
                    ratio = f" ({t / base:.2f})" if shown else ""
                    cells.append("" if t is None else fmt(t) + ratio)
                print(f"| {r['N']:,} | " + " | ".join(cells) + " |")
            print()


if __name__ == "__main__":
    main(sys.argv[1:])
