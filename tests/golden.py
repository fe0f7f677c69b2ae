"""Committed digests of what a fixed scenario draws and simulates, to catch silent changes.

Same config + seed must give the same results on any machine and after any upgrade.  The tests
elsewhere compare runs made side by side, which cannot notice a change that moves every run
alike: numpy's generators drawing differently after an upgrade, or a code change that shifts one
stream.  ``tests/golden.json`` holds SHA-256 digests of the sampled inputs and of every record of
two small scenarios; ``test_reproducibility.py`` recomputes them.

A mismatch means the committed results (``results/``, the fitted config) would no longer
regenerate as they are.  If the change is intended, rerun what depends on the draws
(``contactsim reproduce``, the benchmarks) and then write the new digests::

    python tests/golden.py --update
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from contactsim.caller_values import CallerValues

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("golden.json")
CASES = {  # name: (config, overrides); every case is digested for replications 0 and 1
    "met-2018-07-fitted, 2 days": ("configs/met-2018-07-fitted.yaml", ["horizon_days=2"]),
    "met-2018-09, 2 days": ("configs/met-2018-09.yaml", ["horizon_days=2"]),
}
REPLICATIONS = (0, 1)


def _update(digest, name: str, value) -> None:
    """Add an array (NaNs made canonical: their sign bit differs between CPUs) or a scalar."""
    if isinstance(value, CallerValues):  # digested as the values it stands for
        value = value.values()
    if not isinstance(value, np.ndarray):
        digest.update(f"{name}={value!r}".encode())
        return
    array = np.ascontiguousarray(value)
    if array.dtype.kind == "f":
        array = np.where(np.isnan(array), np.nan, array)
    digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
    digest.update(array.tobytes())


def inputs_digest(inputs) -> str:
    """Every per-caller array, table and setting of one replication's sampled inputs."""
    digest = hashlib.sha256()
    for name, value in sorted(vars(inputs.calls).items()):
        if name == "patience":  # as every class's patience, however the rows are shared
            value = inputs.calls.patience_by_class()
        if name in ("ivr_path", "ivr_time") and value.size == 0:  # no IVR: as a zero per
            value = np.zeros(inputs.calls.n_callers, value.dtype)  # caller, the digests' form
        if name != "patience_row":
            _update(digest, f"calls.{name}", value)
    for name, value in sorted(vars(inputs).items()):
        if name != "calls":
            _update(digest, name, value)
    return digest.hexdigest()


def records_digest(rep) -> str:
    """Every record of call handling and of the downstream stages, in the engine's order."""
    digest = hashlib.sha256()
    stages = {"calls": rep.calls, "tdiu": rep.tdiu and rep.tdiu.records,
              "response": rep.response and rep.response.records}
    for stage, records in stages.items():
        if records is not None:
            for name, column in records.as_dict().items():
                _update(digest, f"{stage}.{name}", column)
    _update(digest, "outcome", rep.outcome)
    return digest.hexdigest()


def digests() -> dict[str, dict[str, str]]:
    """Recompute every case's digests."""
    from contactsim.config import load
    from contactsim.inputs import sample_inputs
    from contactsim.stages import simulate

    out = {}
    for case, (config, overrides) in CASES.items():
        scenario = load(ROOT / config, overrides).scenario
        for r in REPLICATIONS:
            out[f"{case}, replication {r}"] = {
                "inputs": inputs_digest(sample_inputs(scenario, r)),
                "records": records_digest(simulate(scenario, r)),
            }
    return out


def versions() -> dict[str, str]:
    """What the digests may depend on, for the failure message."""
    import platform

    import numba

    return {"numpy": np.__version__, "numba": numba.__version__,
            "python": ".".join(map(str, sys.version_info[:3])),
            "machine": platform.machine(), "libc": " ".join(platform.libc_ver())}


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/golden.py --update   (writes tests/golden.json)")
    sys.path.insert(0, str(ROOT / "src"))
    payload = {"written_with": versions(), "digests": digests()}
    GOLDEN.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
