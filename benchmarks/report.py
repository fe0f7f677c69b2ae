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


def _time_ratio(b: dict, slow: str, fast: str) -> float | None:
    """How many times faster ``fast`` ran than ``slow`` (minimum times), if both ran."""
    if slow in b and fast in b:
        return b[slow]["stats"]["min"] / b[fast]["stats"]["min"]
    return None


def _verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    if ok:
        return "met"
    factor = target / value if higher_is_better else value / target
    if factor < 1.005:  # would print as "missed by 1.00×"
        return f"missed ({value:.4g} against {target:g})"
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
        work = (info.get("calls") or info.get("contacts") or info.get("replications")
                or info.get("tasks") or info.get("values") or "")
        rate = f"{work / bench['stats']['min']:,.0f} /s" if work else ""
        out.append(f"| `{name}` | {bench['stats']['min']:.4f} | {f'{work:,}' if work else ''} | "
                   f"{rate} |")
    out += ["", "## Targets (issue 3 and 4)", "", "| target | measured | goal | verdict |",
            "|---|---:|---:|---|"]
    out += _targets(b)
    out += _compile_lines(Path(sys.argv[1]).with_name("compile_time.json"))
    phases = _year_phases(b)
    notes = [line for line in PROFILE_NOTES if phases or line is not YEAR_PHASES_SENTENCE]
    out += ["", "## What the profile shows where a target is missed", "", *notes, *phases]
    return out


YEAR_PHASES_SENTENCE = "  Where its wall time went is the last table, from the same run."
PROFILE_NOTES = [
    "* **Kernel.** `python benchmarks/profile_kernel.py` samples the benchmark with `perf`:",
    "  all its samples in compiled code are the event loop's (before its helpers became",
    "  closures, 60% were numba's atomic reference-count updates).  Side by side in this run, a",
    "  loop that knows only this model (`benchmarks/minimal_loops.py`) shows what the kernel's",
    "  generality costs — routing and priority tables, per-pool idle-slot bitmaps (handler",
    "  identity), handling variants, roster and horizon checks, redial and IVR branches — against",
    "  the work any loop must do: the heap (one sift per call) and the eleven record columns.",
    "* **Fast vs SimPy.** The Met week is harder than the kernel benchmark's two-class model",
    "  (whose ratio is the table's last SimPy row): fewer waiting callers, so most calls take",
    "  an idle slot, a heap push and pop and give the slot back, and 101",
    "  calls whose IVR menu leads to a queue (routed, or diverted online) add an event, the",
    "  menu's end; leaving the menu for good needs none.",
    "  `python benchmarks/profile_kernel.py --model met-week --hot 10`",
    "  lists the loop's hottest instructions.  They were those just after the loads of a",
    "  caller's handling time and patience (about a sixth of the samples; a fifth on a year);",
    "  the loop now prefetches both 48 arrivals ahead, which took about a tenth off the week",
    "  (`python benchmarks/kernel_ab.py`) and left those loads about 2% of the samples each.",
    "  A presorted stream for IVR ends was tried and left out (docs/engine.md).",
    "  `python benchmarks/met_week_features.py` runs the",
    "  week without its IVR and redial: each costs a heap insertion and removal per menu end",
    "  leading to a queue or per queued caller who would call back, and together about 40% of",
    "  the week's time.",
    "* **Met year.** Run as every replication of a command-line run is",
    "  (`simulate(..., keep_inputs=False)`): each step's per-caller draws are released once the",
    "  engine run reading them is over, so the peak comes during the call-handling run — the",
    "  interpreter with numba, pandas and the loaded engine (about 240 MB), the call-handling",
    "  draws (about 67 bytes per caller, drawn for every channel a caller can reach) and the",
    "  records (46 bytes per contact).  A fresh process faults all of that memory in, and on",
    "  this virtual machine that is the year's system CPU time in the table above; a second",
    "  year in the same process reuses the memory (`contactsim.allocator`) and takes",
    "  almost none.  The memory comes in 4 KiB pages: numpy's advice to use 2 MiB huge pages",
    "  is switched off, as here a first touch of huge pages cost twice the system time",
    "  (`python benchmarks/year.py --allocator keep-huge`, in `contactsim.allocator`'s",
    "  figures).  How much the faulting costs depends on the host, not the code: `python",
    "  benchmarks/first_touch.py` fills 760 MB in fresh processes, and here one started after",
    "  ten idle seconds (the balloon driver has handed freed memory back to the host) takes",
    "  three to four times the system time of one started right after another freed its own.",
    YEAR_PHASES_SENTENCE,
    "  The draws are one named stream per purpose, channel and caller group, made for every",
    "  channel a caller can reach, so that scenarios share their callers.  numpy's uniform,",
    "  exponential, normal and lognormal draws are compiled (`contactsim.compiled_generator`:",
    "  the same values; the ratios are in the table above).  `python",
    "  benchmarks/profile_year.py` times each stream, and `python benchmarks/draws_read.py`",
    "  counts the values the run reads: about a quarter.  Drawing only those would change the",
    "  streams and stop scenarios from sharing them; prorated, it saves about three quarters of",
    "  the drawing time and some of the placing, which the last table's closing line sets",
    "  against what a 3 s year leaves the draws.",
    "* **Workers.** Workers are forked with the engine loaded, so start-up is milliseconds.  The",
    "  pure-CPU ceiling measured in the same run shows what two processes can gain on this",
    "  virtual machine at best; the replications share its caches and memory bandwidth on top.",
    "  Each replication's own CPU time, measured inside its worker, says how much: the CPU a",
    "  replication takes while the other core is busy cannot be won back by scheduling, so two",
    "  workers need at least half of 16 times that, and the speed-up is at most the 1-worker",
    "  time divided by it.",
]


def _reference(what: str, measured: str) -> str:
    """A row shown beside the targets to read them by, with no target of its own."""
    return f"| {what} | {measured} | – | for reference |"


def _targets(b: dict) -> list[str]:
    rows = []
    kernel = b.get("test_kernel_two_class_erlang_a_1e6")
    if kernel:
        rate = _rate(kernel, "calls")
        rows.append(f"| kernel, two-class Erlang-A, 10⁶ calls | {rate / 1e6:.2f} M calls/s | "
                    f"≥ 10 M calls/s | {_verdict(rate, TARGETS['kernel_calls_per_s'])} |")
    for name, what in (("test_minimal_loop_with_records_1e6", "same inputs, loop knowing only "
                        "this model, writing the records"),
                       ("test_minimal_loop_bare_1e6", "same, without records")):
        if name in b:
            rows.append(_reference(what, f"{_rate(b[name], 'calls') / 1e6:.2f} M calls/s"))
    ratio = _time_ratio(b, "test_simpy_reference", "test_fast_engine")
    if ratio:
        rows.append(f"| fast engine vs SimPy reference, same inputs (minimum times) | "
                    f"{ratio:,.0f}× | ≥ 250× | {_verdict(ratio, TARGETS['fast_vs_simpy'])} |")
    for name, what in (("test_fast_vs_simpy_alternating", "same, run alternately"),
                       ("test_fast_vs_simpy_two_class", "fast engine vs SimPy reference on the "
                        "kernel benchmark's two-class model (10⁵ calls), run alternately")):
        paired = b.get(name)
        if paired:
            info = paired["extra_info"]
            each = ", ".join(f"{r:,.0f}" for r in info["ratios"])
            rows.append(f"| {what}: median of {len(info['ratios'])} rounds ({each}) | "
                        f"{info['ratio_median']:,.0f}× | ≥ 250× | "
                        f"{_verdict(info['ratio_median'], TARGETS['fast_vs_simpy'])} |")
    year = b.get("test_met_year_end_to_end")
    if year:
        wall, peak = year["extra_info"]["wall_s_in_process"], year["extra_info"]["peak_rss_mb"]
        rows.append(f"| Met year end to end, wall | {wall:.2f} s | ≤ 3 s | "
                    f"{_verdict(wall, TARGETS['year_wall_s'], False)} |")
        rows.append(f"| Met year end to end, peak memory | {peak:,.0f} MB | ≤ 1,024 MB | "
                    f"{_verdict(peak, TARGETS['year_peak_mb'], False)} |")
        rows += _year_cpu_rows(year["extra_info"])
    speedup = _time_ratio(b, "test_replications[1]", "test_replications[2]")
    if speedup:
        rows.append(f"| replications on 2 workers vs 1 | {speedup:.2f}× | ≥ 1.8× | "
                    f"{_verdict(speedup, TARGETS['workers_speedup'])} |")
    cpu = [b.get(f"test_replication_cpu[{w}]", {}).get("extra_info", {}).get(
        "cpu_s_per_replication") for w in (1, 2)]
    if all(cpu):
        rows.append(_reference("CPU time of one replication, 1 → 2 cores busy (median, "
                               "inside the task)", f"{cpu[0] * 1e3:.0f} → {cpu[1] * 1e3:.0f} "
                               f"ms ({cpu[1] / cpu[0] - 1:+.0%})"))
        single = b.get("test_replications[1]")
        if single:
            n = single["extra_info"]["replications"]
            bound = single["stats"]["min"] / (n / 2 * cpu[1])
            rows.append(_reference("so 2 workers can be at most this much faster than 1",
                                   f"{bound:.2f}×"))
    ceiling = _time_ratio(b, "test_cpu_ceiling[1]", "test_cpu_ceiling[2]")
    if ceiling:
        rows.append(_reference("pure-CPU ceiling of this machine, 2 processes vs 1",
                               f"{ceiling:.2f}×"))
    scaling = sorted((v["extra_info"]["calls"], v["stats"]["min"]) for k, v in b.items()
                     if k.startswith("test_kernel_scaling"))
    if scaling:
        per_call = ", ".join(f"10^{len(str(n)) - 1}: {t / n * 1e9:.0f} ns" for n, t in scaling)
        rows.append(f"| time per call, 10⁴ → 10⁷ calls | {per_call} | roughly flat | – |")
    return rows + _draw_rows(b)


def _draw_rows(b: dict) -> list[str]:
    """How many times faster the compiled draws ran than numpy's (benchmarks/test_draws.py)."""
    ratios = []
    for method in ("random", "exponential", "normal", "lognormal"):
        ratio = _time_ratio(b, f"test_draws[{method}-numpy]", f"test_draws[{method}-compiled]")
        if ratio:
            ratios.append(f"{method} {ratio:.2f}×")
    if not ratios:
        return []
    return [_reference("compiled draws vs numpy's, the same 10⁶ values (minimum times)",
                       ", ".join(ratios))]


def _year_cpu_rows(info: dict) -> list[str]:
    """The year's CPU time in the process and in the kernel, and a second year after it."""
    if "system_s" not in info:
        return []
    rows = [_reference("same year, CPU: in the process (user) + in the kernel (system: "
                       "faulting in fresh memory)" + _faults_label(info),
                       f"{info['user_s']:.2f} + {info['system_s']:.2f} s" + _faults(info))]
    second = info.get("second_year")
    if second:
        rows.append(_reference(
            "a second year in the same process (as later replications of a run), wall "
            "(user + system), peak memory after it" + _faults_label(second),
            f"{second['wall_s']:.2f} s ({second['user_s']:.2f} + {second['system_s']:.2f} s), "
            f"{second.get('peak_rss_mb', float('nan')):,.0f} MB" + _faults(second)))
    return rows


def _faults_label(info: dict) -> str:
    return ", page faults" if info.get("page_faults") is not None else ""


def _faults(info: dict) -> str:
    """The run's page faults, for runs that counted them."""
    faults = info.get("page_faults")
    return f", {faults / 1000:,.0f} k" if faults is not None else ""


def _year_phases(b: dict) -> list[str]:
    """Where the year benchmark's fastest run spent its wall time (benchmarks/year_phases.py)."""
    year = b.get("test_met_year_end_to_end")
    phases = year and year["extra_info"].get("phases")
    if not phases:
        return []
    wall = year["extra_info"]["wall_s_in_process"]
    rows = [(name, p["s"]) for name, p in phases.items()]
    rows.append(("everything else (picking the stages' jobs, finishing their times, building "
                 "their systems)",
                 wall - sum(s for _, s in rows)))
    draws = sum(s for name, s in rows if name.startswith("draws:"))
    target = TARGETS["year_wall_s"]
    return ["", "## Met year: where the wall time goes", "",
            f"The fastest of the year benchmark's runs ({wall:.2f} s), by phase:", "",
            "| phase | seconds | share |", "|---|---:|---:|",
            *(f"| {name} | {s:.2f} | {s / wall:.0%} |" for name, s in rows), "",
            f"Everything but the draws takes {wall - draws:.2f} s, so a {target:g} s year leaves "
            f"the draws {target - (wall - draws):.2f} s, against the {draws:.2f} s they took."]


def _compile_lines(path: Path) -> list[str]:
    """Compile time, measured apart from run time by benchmarks/compile_time.py."""
    if not path.exists():
        return []
    c = json.loads(path.read_text())
    return ["", "## Compilation (apart from the run times above)", "",
            f"numba compiles the engine once per environment: {c['compile_cold_s']:.1f} s with "
            f"an empty cache; later processes load the cached machine code in "
            f"{c['cache_load_s']:.2f} s (`numba.njit(cache=True)`)."] + _draws_compile(c)


def _draws_compile(c: dict) -> list[str]:
    if "draws_compile_cold_s" not in c:
        return []
    return ["", f"The compiled random draws (`contactsim.compiled_generator`) take "
            f"{c['draws_compile_cold_s']:.1f} s to compile with an empty cache and "
            f"{c['draws_cache_load_s']:.3f} s to load from it, after numba's own start-up "
            f"(which the engine's figure includes)."]


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text())
    print("\n".join(lines(data)))


if __name__ == "__main__":
    main()
