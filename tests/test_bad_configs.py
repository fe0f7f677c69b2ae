"""Bad input is refused with one clear error: the file, the field path and what was expected.

The corpus is ``tests/bad_configs/*.yaml``: each file breaks one thing and states in its header
the error it must produce (``# expect: FIELD.PATH: FRAGMENT``, see ``summarise.py`` there).

* every case goes through :func:`contactsim.config.load` in-process (fast): a ConfigError that
  names the expected file and field path and contains the expected fragment;
* a representative subset goes through the real command line in subprocesses (``contactsim run
  FILE --out DIR/out`` and ``contactsim validate FILE``): exit code 2, exactly one line on stderr
  starting ``error:`` that names file, path and fragment, no traceback, and nothing written —
  the working directory stays empty and the output directory is never created;
* ``--set`` overrides give the same kind of error, in-process and on the command line.

The subprocesses run concurrently in one module fixture (each pays ~2-3 s of imports).
"""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path

import pytest
from bad_configs import summarise as corpus
from conftest import CONFIGS

from contactsim.config import ConfigError, load

CASES = corpus.cases()
BY_NAME = {case.name: case for case in CASES}
MET = CONFIGS / "met-2018-07.yaml"

# One of each family: a value, an unknown key, YAML safety, extends, provenance, a roster,
# shares, a file-level problem
CLI_RUN = ["negative-volume", "unknown-key-nested", "python-object-tag", "circular-a",
           "inherits-bad-parent", "roster-weekly-hourly-counts", "ivr-shares-above-one",
           "not-utf8"]
CLI_VALIDATE = ["duplicate-key", "target-in-parsecs", "markup-in-key", "emoji-code-in-key"]
CLI_KNOWN_BUGS: dict[str, str] = {}

# (--set, field path, fragment of the message)
OVERRIDES = [
    ("channels.101.daily_volume=-5", "channels.101.daily_volume",
     "expected a number >= 0 (got -5)"),
    ("ivr.divert_online=abc", "ivr.divert_online", "expected a number (got 'abc')"),
    ("nosuchkey=1", "nosuchkey", "unknown key 'nosuchkey'"),
    ("channels.10l.daily_volume=5", "channels.10l", "did you mean '101'?"),
    ("handling.999={dist: lognormal, mean: 6min}", "handling.999.cv", "required field is missing"),
    ("handling.999={dist: pareto, mean: 60}", "handling.999", "unknown dist 'pareto'"),
    ("channels.999.answer_target=10 parsecs", "channels.999.answer_target",
     "unknown unit 'parsecs'"),
    ("pools.call_handlers.roster={shifts: []}", "pools.call_handlers.roster.shifts",
     "expected at least 1 item (got 0)"),
    ("pools.call_handlers.roster.shifts.0.handlers=5", "pools.call_handlers.roster.shifts",
     "set the whole list instead"),
    ("outcomes.999.resolved=0.99", "outcomes.999", "expected outcome shares summing to 1"),
    ("warmup=3660d", "warmup", "expected less than the horizon"),
    ("replications=0", "replications", "expected a number >= 1 (got 0)"),
    ("name=", "name", "required field is missing"),
    ("start_date=2018-02-30", "start_date", "expected a date YYYY-MM-DD"),
    ("ivr.enabled={a: [}", "ivr.enabled", "invalid YAML"),
    ("ivr.enabled=!!python/object/apply:os.system [echo pwned]", "ivr.enabled",
     "tag !!python/object/apply:os.system is not allowed"),
]
CLI_OVERRIDES = OVERRIDES[:3]


def test_the_corpus_covers_the_ground():
    assert len(CASES) >= 30
    assert all(case.fragment and case.about for case in CASES)
    for name in CLI_RUN + CLI_VALIDATE:
        assert name in BY_NAME, name


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_load_refuses_with_the_expected_error(case):
    with pytest.raises(ConfigError) as info:
        load(case.file)
    error = info.value
    assert not corpus.problems_with(case, error.source, error.path, error.message)
    where = f"{error.source}: {error.path}" if error.path else error.source
    assert str(error) == f"{where}: {error.message}"


@pytest.mark.parametrize("override, path, fragment", OVERRIDES, ids=[o[0] for o in OVERRIDES])
def test_a_bad_override_is_refused_like_a_bad_file(override, path, fragment):
    with pytest.raises(ConfigError) as info:
        load(MET, [override])
    error = info.value
    assert (error.source, error.path) == ("--set", path)
    assert fragment in error.message and "\n" not in str(error)


def test_a_good_override_after_a_bad_one_does_not_hide_it():
    with pytest.raises(ConfigError, match="channels.101.daily_volume"):
        load(MET, ["channels.101.daily_volume=-5", "channels.999.daily_volume=6000"])


# --- the command line ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """Run every command-line job concurrently; {job id: (CompletedProcess, working dir)}."""
    jobs = {}
    for name in CLI_RUN:
        work = tmp_path_factory.mktemp(f"run-{name}")
        jobs[f"run:{name}"] = (["run", str(BY_NAME[name].file), "--out", str(work / "out")],
                               work)
    for name in CLI_VALIDATE:
        work = tmp_path_factory.mktemp(f"validate-{name}")
        jobs[f"validate:{name}"] = (["validate", str(BY_NAME[name].file)], work)
    for i, (override, _, _) in enumerate(CLI_OVERRIDES):
        work = tmp_path_factory.mktemp(f"set-{i}")
        jobs[f"set:{override}"] = (["run", str(MET), "--set", override, "--out",
                                    str(work / "out")], work)
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        futures = {key: pool.submit(corpus.run_cli, args, cwd) for key, (args, cwd) in
                   jobs.items()}
        return {key: (future.result(), jobs[key][1]) for key, future in futures.items()}


def assert_refused_cleanly(done, work: Path) -> str:
    """Exit 2, no traceback, nothing on stdout, nothing written; returns the stderr line."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert not (work / "out").exists()
    assert list(work.iterdir()) == [], "nothing may be written"
    return lines[0]


def _cli_params(kind: str, names: list[str]) -> list:
    return [pytest.param(f"{kind}:{name}", id=f"{kind}:{name}", marks=(
        [pytest.mark.xfail(reason=CLI_KNOWN_BUGS[name], strict=False)]
        if name in CLI_KNOWN_BUGS else [])) for name in names]


@pytest.mark.parametrize("job", _cli_params("run", CLI_RUN) + _cli_params("validate",
                                                                          CLI_VALIDATE))
def test_the_command_line_refuses_with_one_clear_line(job, cli):
    done, work = cli[job]
    assert_refused_cleanly(done, work)
    case = BY_NAME[job.partition(":")[2]]
    assert not corpus.problems_with_stderr(case, done.stderr)


@pytest.mark.parametrize("override, path, fragment", CLI_OVERRIDES,
                         ids=[o[0] for o in CLI_OVERRIDES])
def test_the_command_line_refuses_a_bad_override(override, path, fragment, cli):
    done, work = cli[f"set:{override}"]
    line = assert_refused_cleanly(done, work)
    assert line.startswith(f"error: --set: {path}: ") and fragment in line


@pytest.mark.parametrize("name", ["missing.yaml", ".", "nul\0byte.yaml", "x" * 5000],
                         ids=["missing", "directory", "nul-byte", "name-too-long"])
def test_a_path_that_is_not_a_readable_file_is_refused(tmp_path, name):
    with pytest.raises(ConfigError) as info:
        load(tmp_path / name)
    assert info.value.message in ("file not found", "expected a config file (got a directory)") \
        or info.value.message.startswith("cannot read file")
