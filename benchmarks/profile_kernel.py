"""Where the kernel's time goes: ``perf`` samples of the event loop, by code region and instruction.

    python benchmarks/profile_kernel.py [--model two-class|met-week|met-year|met-response]
                                        [--rounds N] [--hot N]

Runs itself under ``perf record -e cpu-clock`` (a software clock, so it works where hardware
counters are unavailable, as in most virtual machines) and sorts the samples taken while the
engine runs into: the compiled event loop itself, other numba-compiled code (runtime helpers
such as the reference-count functions ``NRT_incref``/``NRT_decref``), and everything else
(Python, numpy, the operating system).  numba's code has no symbols ``perf`` can read, so the
child process records where the loop's machine code lives (``/proc/self/maps``), and a copy of
it, for the parent to classify the sampled instruction addresses.  ``--hot N`` then lists the N
instructions of the loop with the most samples, disassembled with ``objdump`` (binutils), with
the instruction before each: a sample usually lands just after the one that stalled.

The models: ``two-class`` is the kernel benchmark (10⁶ calls); ``met-week`` one week of
``configs/met-2018-09.yaml`` call handling (the engine benchmark); ``met-year`` a year of
``configs/met-2018-07.yaml`` call handling (the year benchmark's first engine run);
``met-response`` that year's response stage (1.7 M jobs for one pool of up to 424 officers,
four grades, no abandonment).

What it found (docs/engine.md):

* with the heap and queue helpers written as inlined functions taking arrays, *more* samples
  fell in the reference-count helpers — an atomic ``lock incq`` per array per call — than in
  the loop itself; with the helpers as closures, almost none do;
* on ``met-year`` (and to a lesser degree ``met-week``) the hottest instructions are the ones
  just after the loads of a caller's handling time and patience (``t + service[...]``,
  ``queue entry + patience[...]``, 2-D arrays read sparsely, long after sampling wrote them),
  about a fifth of the loop's samples on the year; then the heap's sift-down.  A software
  prefetch of those values, 48 arrivals ahead, now takes about a tenth off the week and the
  year (docs/engine.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
ROOT = Path(__file__).resolve().parents[1]
MODELS = ("two-class", "met-week", "met-year", "met-response")


def model_system(model: str):
    """The named model's QueueSystem (call handling, or the response stage)."""
    if model == "two-class":
        from models import two_class_erlang_a

        return two_class_erlang_a(1_000_000)
    from contactsim.config import load
    from contactsim.inputs import InputSampler

    config, days = (("met-2018-09.yaml", 7) if model == "met-week" else ("met-2018-07.yaml", 365))
    scenario = load(ROOT / "configs" / config,
                    [f"horizon_days={days}", "warmup=0", "start_date=2018-01-01"]).scenario
    if model == "met-response":
        from contactsim.stages import simulate

        return simulate(scenario, 0).response.system
    return InputSampler(scenario, 0).calls()


def child(model: str, rounds: int, out: Path) -> None:
    """Run the engine on the model; write the compiled code's address ranges and a copy."""
    import ctypes

    from models import two_class_erlang_a

    from contactsim import engine
    from contactsim.engine.kernel import simulate

    engine.run(two_class_erlang_a(1000))  # compile or load the cache before sampling matters
    system = model_system(model)
    started = time.clock_gettime(time.CLOCK_MONOTONIC)  # perf's sample clock (-k), below
    for _ in range(rounds):
        engine.run(system)
    window = [started, time.clock_gettime(time.CLOCK_MONOTONIC)]
    compiled = simulate.overloads[simulate.signatures[0]]
    entry = compiled.library.get_pointer_to_function(compiled.fndesc.llvm_func_name)
    regions = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if "x" in fields[1] and len(fields) < 6:  # executable and anonymous: JIT code
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            regions.append({"lo": lo, "hi": hi, "loop": lo <= entry < hi})
            if lo <= entry < hi:
                (out / "loop.bin").write_bytes(ctypes.string_at(lo, hi - lo))
    (out / "regions.json").write_text(json.dumps({"entry": entry, "regions": regions,
                                                  "window": window}))


def _disassembly(code: Path, base: int) -> list[tuple[int, str]]:
    """(address, instruction) of the loop's region, by objdump."""
    text = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64",
                           f"--adjust-vma={base}", str(code)],
                          check=True, capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        head, _, rest = line.partition(":")
        try:
            address = int(head.strip(), 16)
        except ValueError:
            continue
        instruction = rest.split("\t")[-1].strip()
        if instruction:
            rows.append((address, instruction))
    return rows


def hottest(samples: Counter, out: Path, meta: dict, n: int) -> list[str]:
    """The n loop instructions with the most samples, each with the instruction before it."""
    loop = next(r for r in meta["regions"] if r["loop"])
    inside = {ip: k for ip, k in samples.items() if loop["lo"] <= ip < loop["hi"]}
    total = sum(inside.values())
    if not shutil.which("objdump"):
        return ["(objdump not found: install binutils for --hot)"]
    rows = _disassembly(out / "loop.bin", loop["lo"])
    at = {address: i for i, (address, _) in enumerate(rows)}
    lines = [f"{'share':>6}  {'offset':>7}  instruction   (instruction before it)"]
    for ip, k in sorted(inside.items(), key=lambda kv: -kv[1])[:n]:
        i = at.get(ip)
        text = rows[i][1] if i is not None else "?"
        before = rows[i - 1][1] if i else "?"
        lines.append(f"{k / total:6.1%}  +{ip - meta['entry']:06x}  {text}   ({before})")
    return lines


def parent(model: str, rounds: int, hot: int) -> tuple[dict[str, float], list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        data = out / "perf.data"
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-k", "CLOCK_MONOTONIC",
                        "-o", str(data), "--", sys.executable, __file__, "--child", str(out),
                        "--model", model, "--rounds", str(rounds)], check=True)
        meta = json.loads((out / "regions.json").read_text())
        script = subprocess.run(["perf", "script", "-i", str(data), "-F", "time,ip"],
                                check=True, capture_output=True, text=True).stdout
        samples = Counter(_engine_samples(script, *meta["window"]))
        listing = hottest(samples, out, meta, hot) if hot else []
    counts: Counter[str] = Counter()
    for ip, k in samples.items():
        where = next((r for r in meta["regions"] if r["lo"] <= ip < r["hi"]), None)
        counts["event loop" if where and where["loop"] else
               "other compiled code (numba runtime)" if where else "everything else"] += k
    compiled = counts["event loop"] + counts["other compiled code (numba runtime)"]
    shares = {"samples": sum(counts.values()),
              **{k: v / compiled for k, v in counts.items() if k != "everything else"}}
    return shares, listing


def _engine_samples(script: str, start: float, end: float):
    """The instruction addresses of ``perf script -F time,ip`` lines sampled while the engine
    ran (not while the model was sampled or the engine compiled)."""
    for line in script.splitlines():
        stamp, _, ip = line.partition(":")
        if ip.strip() and start <= float(stamp) <= end:
            yield int(ip, 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="two-class")
    parser.add_argument("--rounds", type=int, help="engine runs sampled [20; a year's 4]")
    parser.add_argument("--hot", type=int, default=0, help="list the N hottest instructions")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = args.rounds or (4 if args.model in ("met-year", "met-response") else 20)
    if args.child:
        child(args.model, rounds, args.child)
        return
    shares, listing = parent(args.model, rounds, args.hot)
    print(f"{args.model}: {shares.pop('samples')} samples; of those in compiled code:")
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {share:6.1%}  {name}")
    if listing:
        print("\nhottest instructions of the event loop (share of its samples):")
        print("\n".join(listing))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
