"""Loading good configs: extends, merging rules, overrides, units, remainders and provenance.

(The bad ones are in test_bad_configs.py and test_config_fuzz.py.)
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import CONFIGS

from contactsim.config import ConfigError, load, parse_override
from contactsim.schema import DeterministicSpec, ExponentialSpec, LognormalSpec

MET_07 = CONFIGS / "met-2018-07.yaml"
MET_09 = CONFIGS / "met-2018-09.yaml"

# A small complete scenario of our own, so that these tests do not depend on calibrated values
# in the bundled configs
BASE = """\
name: base
horizon_days: 2
warmup: 6h
channels:
  "999":
    daily_volume: 100
    month_factor: {7: 1.1}
    answer_target: 10s
    patience: {dist: exponential, mean: 2min}
    redial: {probability: 0.5, delay: {dist: exponential, mean: 30s}, max_attempts: 3}
  "101":
    daily_volume: 200
    answer_target: 30s
    redial:
      probability: 0.4
      delay: {dist: exponential, mean: 20min}
      max_attempts: 3
      switch: {"999": 0.05, online: 0.1}
  online: {daily_volume: 10, answer_target: 1d}
ivr: {enabled: true, divert_online: 0.15, divert_other: 0.175, hang_up: 0.05}
handling:
  "999": {dist: lognormal, mean: 6min, cv: 0.8}
  "101": {dist: lognormal, mean: 9min, cv: 0.9}
  online: {dist: exponential, mean: 20min}
pools:
  call_handlers:
    serves: ["999", "101"]
    roster:
      shifts:
        - {start: "07:00", hours: 12, handlers: 10}
        - {start: "19:00", hours: 12, handlers: 8}
  digital: {serves: [online], roster: {constant: 2}}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def child_of(directory: Path, parent: Path, text: str, name: str = "child.yaml") -> Path:
    return write(directory, name, f"extends: {parent}\n" + textwrap.dedent(text))


@pytest.fixture
def base(tmp_path) -> Path:
    return write(tmp_path, "base.yaml", BASE)


# --- every bundled config loads ------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")) + sorted(
    (CONFIGS / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_config_loads(path):
    loaded = load(path)
    assert loaded.scenario.name == path.stem
    assert loaded.raw and loaded.provenance


def test_the_merged_raw_mapping_loads_to_the_same_scenario(tmp_path):
    loaded = load(MET_09)
    flat = write(tmp_path, "flat.yaml", yaml.safe_dump(loaded.raw, sort_keys=False))
    assert load(flat).scenario == loaded.scenario


def test_september_inherits_from_its_parent_whatever_it_does_not_set():
    own = yaml.safe_load(MET_09.read_text())
    parent, september = load(MET_09.parent / own["extends"]).scenario, load(MET_09).scenario
    assert september.name == "met-2018-09"
    for field in type(parent).model_fields:
        if field not in own:
            assert getattr(september, field) == getattr(parent, field), field


def test_the_bundled_met_config_uses_an_extension_anchor_for_its_profile():
    july = load(MET_07).scenario
    assert july.channels["999"].profile == july.channels["101"].profile
    assert len(july.channels["999"].profile.hour_of_day) == 24
    assert not any(key.startswith("x-") for key in load(MET_07).raw)


# --- extends and merging -------------------------------------------------------------------


def test_base_loads(base):
    scenario = load(base).scenario
    assert scenario.name == "base" and scenario.horizon == 2 * 86400.0 and scenario.warmup == 21600


def test_extends_merges_mappings_key_by_key(tmp_path, base):
    child = child_of(tmp_path, base, """\
        name: child
        start_date: 2018-09-03
        channels:
          "999":
            month_factor: {9: 1.0}
        ivr:
          enabled: false
        """)
    parent, scenario = load(base).scenario, load(child).scenario
    assert scenario.name == "child" and scenario.start_date == dt.date(2018, 9, 3)
    assert scenario.channels["999"].month_factor == {7: 1.1, 9: 1.0}  # merged
    assert scenario.channels["999"].daily_volume == 100  # inherited beside it
    assert not scenario.ivr.enabled and scenario.ivr.divert_online == 0.15
    assert scenario.pools == parent.pools and scenario.handling == parent.handling


def test_extends_is_relative_to_the_file_not_the_working_directory(tmp_path, base, monkeypatch):
    (tmp_path / "deep").mkdir()
    child = write(tmp_path / "deep", "child.yaml", """\
        extends: ../base.yaml
        name: child
        """)
    monkeypatch.chdir(CONFIGS)
    assert load(child).scenario.name == "child"


def test_extension_keys_are_ignored_and_their_anchors_usable(tmp_path, base):
    path = child_of(tmp_path, base, """\
        x-notes: {anything: [goes, here], even: {unknown: keys}}
        x-slow: &slow {dist: lognormal, mean: 4min, cv: 0.5}
        handling:
          "101": *slow
        """)
    loaded = load(path)
    assert loaded.scenario.handling["101"] == LognormalSpec(dist="lognormal", mean=240.0, cv=0.5)
    assert "x-notes" not in loaded.raw


def test_yaml_merge_keys_work(tmp_path, base):
    path = child_of(tmp_path, base, """\
        x-base: &defaults {dist: lognormal, mean: 4min, cv: 0.5}
        handling:
          "101": {<<: *defaults, cv: 0.9}
        """)
    assert load(path).scenario.handling["101"] == LognormalSpec(
        dist="lognormal", mean=240.0, cv=0.9)


def test_a_distribution_replaces_the_inherited_one_instead_of_merging(tmp_path, base):
    # the parent's 999 handling is lognormal with a cv; merged, exponential would get the cv
    path = child_of(tmp_path, base, """\
        handling:
          "999": {dist: exponential, mean: 5min}
        """)
    assert load(path).scenario.handling["999"] == ExponentialSpec(dist="exponential", mean=300.0)


def test_a_mapping_without_dist_merges_into_the_inherited_distribution(tmp_path, base):
    path = child_of(tmp_path, base, """\
        handling:
          "999": {mean: 7min}
        """)
    assert load(path).scenario.handling["999"] == LognormalSpec(
        dist="lognormal", mean=420.0, cv=0.8)


def test_a_roster_replaces_the_inherited_one_instead_of_merging(tmp_path, base):
    # merged, constant + the parent's shifts would be two forms of roster, an error
    path = child_of(tmp_path, base, """\
        pools:
          call_handlers:
            roster: {constant: 15}
        """)
    pool = load(path).scenario.pools["call_handlers"]
    assert pool.roster.constant == 15 and pool.roster.shifts is None
    assert pool.serves == ["999", "101"]  # the rest of the pool still merges


def test_lists_replace(tmp_path, base):
    path = child_of(tmp_path, base, """\
        pools:
          call_handlers:
            serves: ["101", "999"]
        """)
    assert load(path).scenario.pools["call_handlers"].serves == ["101", "999"]


def test_null_removes_an_inherited_key(tmp_path, base):
    path = child_of(tmp_path, base, """\
        channels:
          "999":
            redial: null
        ivr: null
        """)
    scenario = load(path).scenario
    assert scenario.channels["999"].redial is None
    assert scenario.channels["101"].redial is not None
    assert scenario.ivr.enabled is False  # back to the default IVR


def test_a_chain_of_three_files(tmp_path, base):
    middle = child_of(tmp_path, base, "name: middle\nreplications: 7\n", "middle.yaml")
    child = child_of(tmp_path, middle, "name: child\nseed: 3\n")
    scenario = load(child).scenario
    assert (scenario.name, scenario.replications, scenario.seed) == ("child", 7, 3)
    assert scenario.ivr.enabled  # from base, two levels up


# --- overrides -----------------------------------------------------------------------------


def test_overrides_are_read_as_yaml():
    assert parse_override("ivr.enabled=false") == (["ivr", "enabled"], False)
    assert parse_override("name=a=b") == (["name"], "a=b")
    assert parse_override("channels.101.daily_volume=1e3") == (
        ["channels", "101", "daily_volume"], 1000.0)
    assert parse_override("pools.x.serves=[999, online]") == (
        ["pools", "x", "serves"], [999, "online"])


def test_set_with_a_yaml_mapping_value(base):
    scenario = load(base, ["handling.999={dist: exponential, mean: 60}"]).scenario
    assert scenario.handling["999"] == ExponentialSpec(dist="exponential", mean=60.0)


def test_set_merges_into_the_config_and_later_overrides_win(base):
    scenario = load(base, ["ivr.divert_online=0.2", "ivr.hang_up=0.1", "ivr.hang_up=0.02",
                           "channels.101.redial.switch.999=0.3"]).scenario
    assert scenario.ivr.divert_online == 0.2 and scenario.ivr.hang_up == 0.02
    assert scenario.ivr.divert_other == 0.175
    assert scenario.channels["101"].redial.switch == {"999": 0.3, "online": 0.1}


def test_set_can_create_a_block(base):
    scenario = load(base, ["pools.extra={serves: ['101'], roster: {constant: 2}}"]).scenario
    assert scenario.pools["extra"].roster.constant == 2


def test_set_null_removes(base):
    assert load(base, ["channels.999.redial=null"]).scenario.channels["999"].redial is None


def test_set_works_on_the_bundled_configs():
    scenario = load(MET_07, ["ivr.enabled=true", "ivr.divert_online=0.2", "seed=9"]).scenario
    assert scenario.ivr.enabled and scenario.ivr.divert_online == 0.2 and scenario.seed == 9


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("15min", 900.0), ("900", 900.0), ("900s", 900.0), ("900 sec", 900.0), ("0.25h", 900.0),
    ("2h", 7200.0), ("1d", 86400.0), ("1.5e3s", 1500.0), ("1e3", 1000.0), ("0", 0.0),
])
def test_durations_with_units(base, text, seconds):
    assert load(base, [f"warmup={text}"]).scenario.warmup == seconds


def test_15min_is_900_seconds_wherever_a_duration_goes(tmp_path, base):
    path = child_of(tmp_path, base, """\
        channels:
          "101": {answer_target: 15min, patience: {dist: deterministic, value: 15min}}
        """)
    spec = load(path).scenario.channels["101"]
    assert spec.answer_target == 900.0
    assert spec.patience == DeterministicSpec(dist="deterministic", value=900.0)


def test_ivr_routed_takes_the_remainder(base):
    ivr = load(base).scenario.ivr
    assert ivr.routed == pytest.approx(1 - 0.15 - 0.175 - 0.05)
    ivr = load(base, ["ivr.routed=0.5", "ivr.divert_online=0.3", "ivr.divert_other=0.1",
                      "ivr.hang_up=0.1"]).scenario.ivr
    assert ivr.routed == 0.5
    september = load(MET_09).scenario.ivr
    assert september.routed == pytest.approx(
        1 - september.divert_online - september.divert_other - september.hang_up)


def test_yaml_1_1_surprises_are_read_as_they_look(tmp_path, base):
    # 15:00 unquoted is a time (not the sexagesimal 54000), dates stay dates, 1e3 is a number
    path = child_of(tmp_path, base, """\
        start_date: 2018-09-03
        pools:
          call_handlers:
            roster:
              shifts:
                - {start: 15:00, hours: 12, handlers: 13}
                - {start: 03:00, hours: 12, handlers: 13}
        channels:
          "101": {daily_volume: 4.8e3}
        """)
    scenario = load(path).scenario
    assert [s.start for s in scenario.pools["call_handlers"].roster.shifts] == ["15:00", "03:00"]
    assert scenario.start_date == dt.date(2018, 9, 3)
    assert scenario.channels["101"].daily_volume == 4800.0


def test_shares_within_tolerance_are_accepted(base):
    scenario = load(base, ["channels.101.redial.switch={'999': 0.5, online: 0.5000000000001}"])
    assert sum(scenario.scenario.channels["101"].redial.switch.values()) == pytest.approx(1)


# --- provenance: which file set what ------------------------------------------------------


def test_provenance_records_which_file_set_each_value(tmp_path, base):
    middle = child_of(tmp_path, base, "name: middle\nivr: {hang_up: 0.1}\n", "middle.yaml")
    child = child_of(tmp_path, middle, "name: child\n")
    prov = load(child, ["seed=5"]).provenance
    assert Path(prov[("name",)]).name == "child.yaml"
    assert Path(prov[("ivr", "hang_up")]).name == "middle.yaml"
    assert Path(prov[("channels", "999", "daily_volume")]).name == "base.yaml"
    assert prov[("seed",)] == "--set"


def test_an_error_in_a_field_set_by_the_parent_names_the_parent(tmp_path, base):
    parent = child_of(tmp_path, base, """\
        name: parent
        channels:
          "101": {daily_volume: -3}
        """, "parent.yaml")
    child = child_of(tmp_path, parent, "name: child\nseed: 4\n")
    with pytest.raises(ConfigError) as info:
        load(child)
    assert Path(info.value.source).name == "parent.yaml"
    assert info.value.path == "channels.101.daily_volume"
    assert str(info.value).endswith("channels.101.daily_volume: expected a number >= 0 (got -3)")


def test_an_error_in_a_field_the_child_overrides_names_the_child(tmp_path, base):
    child = child_of(tmp_path, base, 'channels:\n  "101": {daily_volume: -3}\n')
    with pytest.raises(ConfigError) as info:
        load(child)
    assert Path(info.value.source).name == "child.yaml"


def test_a_block_error_names_the_file_that_changed_the_block_last(tmp_path, base):
    child = child_of(tmp_path, base, "ivr: {hang_up: 0.9}\n")
    with pytest.raises(ConfigError) as info:
        load(child)
    assert (Path(info.value.source).name, info.value.path) == ("child.yaml", "ivr")
    with pytest.raises(ConfigError) as info:
        load(base, ["ivr.hang_up=0.9"])
    assert (info.value.source, info.value.path) == ("--set", "ivr")


def test_removing_a_required_field_names_the_file_that_removed_it(tmp_path, base):
    child = child_of(tmp_path, base, "pools: null\n")
    with pytest.raises(ConfigError) as info:
        load(child)
    assert (Path(info.value.source).name, info.value.path) == ("child.yaml", "pools")


def test_a_missing_field_names_the_file_that_set_the_block_around_it(tmp_path, base):
    with pytest.raises(ConfigError) as info:
        load(base, ["handling.999={dist: lognormal, mean: 6min}"])
    assert (info.value.source, info.value.path) == ("--set", "handling.999.cv")


def test_files_are_named_relative_to_the_working_directory_when_inside_it(monkeypatch,
                                                                           tmp_path):
    bad = CONFIGS.parent / "tests" / "bad_configs" / "negative-volume.yaml"
    monkeypatch.chdir(CONFIGS.parent)
    with pytest.raises(ConfigError) as info:
        load(bad)
    assert info.value.source == "tests/bad_configs/negative-volume.yaml"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load(bad)
    assert info.value.source == str(bad)


# --- safety: config text is data, never code ------------------------------------------------


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['echo pwned']",
                                 "!!python/name:os.system", "!!python/object:object {}",
                                 "!!python/module:os"])
def test_python_tags_are_refused(tmp_path, base, tag):
    path = child_of(tmp_path, base, f"description: {tag}\n")
    with pytest.raises(ConfigError, match="is not allowed: a config holds plain data"):
        load(path)


def test_the_loader_is_a_safe_loader():
    from contactsim import config

    assert issubclass(config._Loader, yaml.SafeLoader)
    assert not issubclass(config._Loader, (yaml.FullLoader, yaml.UnsafeLoader))


def test_no_source_file_evaluates_text_or_loads_yaml_unsafely():
    import re

    import contactsim

    package = Path(contactsim.__file__).parent
    risky = re.compile(r"\b(eval|exec)\(|yaml\.(unsafe_load|full_load)|Loader=yaml\."
                       r"(Loader|FullLoader|UnsafeLoader)|\bpickle\b|__import__\(")
    for source in package.rglob("*.py"):
        for number, line in enumerate(source.read_text().splitlines(), 1):
            assert not risky.search(line), f"{source.name}:{number}: {line.strip()}"
        for line in source.read_text().splitlines():
            if "yaml.load(" in line:
                assert "Loader=_Loader" in line, f"{source.name}: {line.strip()}"


def test_scenario_name_cannot_steer_the_output_directory(tmp_path):
    """The default output directory is out/NAME: a name like '..' or 'a/b' must be refused."""
    from contactsim.config import ConfigError, load

    base = Path(__file__).resolve().parents[1] / "configs" / "examples" / "erlang-a.yaml"
    for bad in ("..", ".hidden", "a/b", "../escape"):
        with pytest.raises(ConfigError, match="name"):
            load(base, [f"name='{bad}'"])


def test_validating_a_config_does_not_load_the_engine():
    """`contactsim validate` and a config error must answer at once: loading a config (and
    the command line itself) imports neither numba nor SimPy, which take most of a second."""
    code = (
        "import sys\n"
        "import contactsim.cli\n"
        "from contactsim.config import load\n"
        f"load({str(MET_09)!r}).scenario\n"
        "print(sorted(m for m in ('numba', 'simpy', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "[]"
