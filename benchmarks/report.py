"""Turn pytest-benchmark JSON into results/benchmarks.md: a table, the ratios, the command.

    pytest benchmarks/ --benchmark-json=results/benchmarks.json
    python benchmarks/compile_time.py > results/compile_time.json
    python benchmarks/report.py results/benchmarks.json > results/benchmarks.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGETS = {
    "kernel_calls_per_s": 10e6,
    "fast_vs_simpy": 250.0,
    "year_wall_s": 3.0,
    "year_peak_mb": 1024.0,
    "workers_speedup": 1.8,
}


def _by_name(data: dict) -> dict[str, dict]:
    return {b["name"]: b for b in data["benchmarks"]}


def _rate(bench: dict, key: str) -> float:
    return bench["extra_info"][key] / bench["stats"]["min"]


def _verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    if ok:
        return "met"
    factor = target / value if higher_is_better else value / target
    return f"missed by {factor:.2f}×"


def lines(data: dict) -> list[str]:
    b = _by_name(data)
    machine = data["machine_info"]
    out = [
        "# Benchmarks",
        "",
        "Produced by:",
        "",
        "```bash",
        "pytest benchmarks/ --benchmark-json=results/benchmarks.json",
        "python benchmarks/compile_time.py > results/compile_time.json",
        "python benchmarks/report.py results/benchmarks.json > results/benchmarks.md",
        "```",
        "",
        f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"{machine.get('cpu', {}).get('count', '?')} cores, Python {machine['python_version']}, "
        f"run {data['datetime'][:19]} UTC.  Times are the minimum over rounds.",
        "",
        "| benchmark | min time (s) | work | rate |",
        "|---|---:|---:|---:|",
    ]
    for name, bench in b.items():
        info = bench["extra_info"]
        work = info.get("calls") or info.get("contacts") or info.get("replications") or ""
        rate = f"{work / bench['stats']['min']:,.0f} /s" if work else ""
        out.append(f"| `{name}` | {bench['stats']['min']:.4f} | {work:,} | {rate} |")
    out += ["", "## Targets (issue 3 and 4)", "", "| target | measured | goal | verdict |",
            "|---|---:|---:|---|"]
    out += _targets(b)
    out += _compile_lines(Path(sys.argv[1]).with_name("compile_time.json"))
    out += ["", "## What the profile shows where a target is missed", "", *PROFILE_NOTES]
    return out


PROFILE_NOTES = [
    "* **Kernel.** On the same inputs a stripped-down loop with none of the model's features (no",
    "  records, handler identity, shifts, redial or IVR) runs about 2.5× faster than the kernel",
    "  (measured side by side, CPU time, `docs/engine.md`).  Ablations — narrower record columns,",
    "  no record initialisation, a counter instead of the idle-handler heap, no roster merge —",
    "  each changed the rate by less than the noise; the remaining cost is spread over the",
    "  loop's branches and the event heap (≈ 80 ns per pop + push at 100 pending events).",
    "* **Fast vs SimPy.** The ratio is the kernel's rate against SimPy's ~30-40 k contacts/s on",
    "  the Met week (IVR, redial, three classes, shifts); it moves with the kernel's rate.",
    "* **Met year.** Sampling (one named stream per purpose, channel and caller group, scattered",
    "  into caller order), three engine runs (calls, TDIU, response) and the metrics each take",
    "  seconds at 5 million callers; peak memory is the per-caller input arrays (about 100 bytes",
    "  per caller) plus the records (about 50 bytes per contact).",
    "* **Workers.** Two workers pay for a fork server that imports contactsim and loads the",
    "  compiled engine (~2-3 s) before any replication runs; with 16 one-week replications of",
    "  well under a second each, that start-up eats most of the gain.",
]


def _targets(b: dict) -> list[str]:
    rows = []
    kernel = b.get("test_kernel_two_class_erlang_a_1e6")
    if kernel:
        rate = _rate(kernel, "calls")
        rows.append(f"| kernel, two-class Erlang-A, 10⁶ calls | {rate / 1e6:.2f} M calls/s | "
                    f"≥ 10 M calls/s | {_verdict(rate, TARGETS['kernel_calls_per_s'])} |")
    fast, simpy = b.get("test_fast_engine"), b.get("test_simpy_reference")
    if fast and simpy:
        ratio = simpy["stats"]["min"] / fast["stats"]["min"]
        rows.append(f"| fast engine vs SimPy reference, same inputs | {ratio:,.0f}× | ≥ 250× | "
                    f"{_verdict(ratio, TARGETS['fast_vs_simpy'])} |")
    year = b.get("test_met_year_end_to_end")
    if year:
        wall, peak = year["extra_info"]["wall_s_in_process"], year["extra_info"]["peak_rss_mb"]
        rows.append(f"| Met year end to end, wall | {wall:.2f} s | ≤ 3 s | "
                    f"{_verdict(wall, TARGETS['year_wall_s'], False)} |")
        rows.append(f"| Met year end to end, peak memory | {peak:,.0f} MB | ≤ 1,024 MB | "
                    f"{_verdict(peak, TARGETS['year_peak_mb'], False)} |")
    one, two = b.get("test_replications[1]"), b.get("test_replications[2]")
    if one and two:
        speedup = one["stats"]["min"] / two["stats"]["min"]
        rows.append(f"| replications on 2 workers vs 1 | {speedup:.2f}× | ≥ 1.8× | "
                    f"{_verdict(speedup, TARGETS['workers_speedup'])} |")
    scaling = sorted((v["extra_info"]["calls"], v["stats"]["min"]) for k, v in b.items()
                     if k.startswith("test_kernel_scaling"))
    if scaling:
        per_call = ", ".join(f"10^{len(str(n)) - 1}: {t / n * 1e9:.0f} ns" for n, t in scaling)
        rows.append(f"| time per call, 10⁴ → 10⁷ calls | {per_call} | roughly flat | – |")
    return rows


def _compile_lines(path: Path) -> list[str]:
    """Compile time, measured apart from run time by benchmarks/compile_time.py."""
    if not path.exists():
        return []
    c = json.loads(path.read_text())
    return ["", "## Compilation (apart from the run times above)", "",
            f"numba compiles the engine once per environment: {c['compile_cold_s']:.1f} s with "
            f"an empty cache; later processes load the cached machine code in "
            f"{c['cache_load_s']:.2f} s (`numba.njit(cache=True)`)."]


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text())
    print("\n".join(lines(data)))


if __name__ == "__main__":
    main()
