"""The event loop of another revision against the working tree's, alternated in one process.

    python benchmarks/kernel_ab.py REV [--model two-class|met-week|met-year|met-response]
                                       [--pairs 30]

This machine's speed drifts by tens of percent from one minute to the next, so two versions
timed in separate processes, even alternately, differ by more than most changes to the loop.
Here both loops run in one process on the same inputs, in pairs whose order alternates (ABBA),
and each pair gives a ratio: drift slower than a pair cancels out.

``REV``'s ``src/contactsim/engine/kernel.py`` (any git revision) is compiled into a temporary
directory — tens of seconds — and its ``simulate`` is called with the arguments its own
signature names, taken from the same ``QueueSystem`` and fresh records (the ``r_*``
parameters, in the records' column order).  Revisions whose loop takes other arguments
compare as long as each is a field of the system, ``per_caller``, ``n_slots`` or one of the
heaps' arrays (``engine.heap_arrays``; loops before that allocated their own), and a loop
without ``patience_row`` gets every class's patience, as it expects.  Both must
write identical records; the script checks that first.  The models are
``profile_kernel.py``'s.

It prints each version's best and median time and the median of the pairs' ratios
(working tree / REV, below 1 when the working tree is faster), with how many pairs favour the
working tree.  Only the loop is timed: records are allocated before the clock starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from profile_kernel import MODELS, ROOT, model_system

from contactsim.engine import heap_arrays
from contactsim.engine import kernel as working
from contactsim.system import QueueSystem, Records

KERNEL = "src/contactsim/engine/kernel.py"
HEAP_ARRAYS = ("heap_times", "heap_ints")  # the loop's scratch, when it takes them


def load_revision(rev: str, into: Path):
    """The kernel module as it is at git revision ``rev``, compiled apart from the installed one
    (its own module name, its numba cache in ``into``)."""
    source = subprocess.run(["git", "show", f"{rev}:{KERNEL}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    name = f"kernel_at_{abs(hash(rev))}"
    path = into / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba pickles its environment by module name
    spec.loader.exec_module(module)
    return module


def arguments(simulate, system: QueueSystem) -> tuple[list, Records]:
    """The loop's arguments by the names in its signature, and the records it will fill."""
    records = Records.uninitialised(system.max_contacts())
    derived = {
        "per_caller": int(system.contacts_per_caller),
        "n_slots": np.ascontiguousarray(system.n_slots, dtype=np.int64),
        **dict(zip(HEAP_ARRAYS, heap_arrays(len(records)))),
    }
    parameters = inspect.signature(simulate.py_func).parameters
    if "patience_row" not in parameters:  # a loop from before classes could go without a row
        derived["patience"] = system.patience_by_class()
    columns = iter(records.as_dict().values())  # the r_* parameters, in the records' order
    args = []
    for name in parameters:
        if name.startswith("r_"):
            args.append(next(columns))
            continue
        value = derived[name] if name in derived else getattr(system, name)
        if isinstance(value, float | int | np.integer | np.floating):
            value = float(value) if name in ("horizon", "roster_interval") else int(value)
        args.append(value)
    return args, records


def timed(simulate, system: QueueSystem) -> tuple[float, Records]:
    args, records = arguments(simulate, system)
    started = time.perf_counter()
    rows = simulate(*args)
    return time.perf_counter() - started, records.truncated(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="git revision whose loop to compare with the working tree's")
    parser.add_argument("--model", choices=MODELS, default="two-class")
    parser.add_argument("--pairs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = load_revision(args.rev, Path(tmp))
        system = model_system(args.model)
        _, theirs = timed(other.simulate, system)  # compiles
        _, ours = timed(working.simulate, system)
        for name, column in ours.as_dict().items():
            np.testing.assert_array_equal(column, getattr(theirs, name), err_msg=name)
        times = {"working": [], args.rev: []}
        for pair in range(args.pairs):
            order = [("working", working), (args.rev, other)]
            for label, module in order if pair % 2 == 0 else order[::-1]:
                times[label].append(timed(module.simulate, system)[0])
    ratios = [w / r for w, r in zip(times["working"], times[args.rev])]
    print(f"{args.model}: {len(ours):,} contacts, records identical, {args.pairs} pairs")
    for label, seconds in times.items():
        print(f"  {label:>10s}: best {min(seconds) * 1e3:8.2f} ms, "
              f"median {statistics.median(seconds) * 1e3:8.2f} ms")
    print(f"  working / {args.rev}: median of the pairs' ratios {statistics.median(ratios):.3f}"
          f" (quartiles {np.percentile(ratios, 25):.3f}-{np.percentile(ratios, 75):.3f}); "
          f"working faster in {sum(r < 1 for r in ratios)} of {len(ratios)}")


if __name__ == "__main__":
    main()
