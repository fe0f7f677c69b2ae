"""Same config and seed give byte-identical tables: across runs, engines and worker counts."""

from __future__ import annotations

import hashlib

from conftest import CONFIGS

from contactsim import api
from contactsim.experiment import save

SMALL = ["horizon_days=1", "warmup=2h"]


def _digest(tmp_path, name, **options) -> dict[str, str]:
    out = tmp_path / name
    result = api.run(CONFIGS / "met-2018-09.yaml", overrides=SMALL, replications=3, out=out,
                     **options)
    save(result, out)
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest()
            for f in ("summary.csv", "intervals.csv", "summary_ci.csv")}


def test_same_seed_same_bytes_across_runs_and_engines(tmp_path):
    first = _digest(tmp_path, "a")
    again = _digest(tmp_path, "b")
    simpy = _digest(tmp_path, "c", engine="simpy")
    assert first == again == simpy


def test_another_seed_changes_the_results(tmp_path):
    """The check above means something only if the seed matters."""
    a = api.run(CONFIGS / "met-2018-09.yaml", overrides=SMALL, replications=1, seed=1)
    b = api.run(CONFIGS / "met-2018-09.yaml", overrides=SMALL, replications=1, seed=2)
    assert not a.summary["value"].equals(b.summary["value"])


def test_draws_and_records_match_the_committed_digests():
    """Catches what side-by-side runs cannot: every run drawing differently after an upgrade."""
    import json

    import golden

    committed = json.loads(golden.GOLDEN.read_text(encoding="utf-8"))
    now = golden.digests()
    changed = sorted(f"{case}: {part}" for case, parts in committed["digests"].items()
                     for part, value in parts.items() if now.get(case, {}).get(part) != value)
    assert set(now) == set(committed["digests"]) and not changed, (
        f"sampled inputs or records changed ({'; '.join(changed)}); digests written with "
        f"{committed['written_with']}, now {golden.versions()}. See tests/golden.py.")
