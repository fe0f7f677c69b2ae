"""Loading good configs: extends, merging rules, overrides, units, remainders and provenance.

(The bad ones are in test_bad_configs.py and test_config_fuzz.py.)
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import CONFIGS

from contactsim.config import ConfigError, load, parse_override
from contactsim.schema import DeterministicSpec, ExponentialSpec, LognormalSpec

MET_07 = CONFIGS / "met-2018-07.yaml"
MET_09 = CONFIGS / "met-2018-09.yaml"
ERLANG_A = CONFIGS / "examples" / "erlang-a.yaml"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def child_of(directory: Path, parent: Path, text: str, name: str = "child.yaml") -> Path:
    return write(directory, name, f"extends: {parent}\n" + textwrap.dedent(text))


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


# --- extends and merging -------------------------------------------------------------------


def test_extends_merges_mappings_key_by_key():
    july, september = load(MET_07).scenario, load(MET_09).scenario
    assert september.name == "met-2018-09" and september.start_date == dt.date(2018, 9, 3)
    assert september.ivr.enabled and not july.ivr.enabled
    # set in September, merged into July's month factors
    assert september.channels["999"].month_factor == {7: 1.1, 9: 1.0}
    # untouched: inherited whole
    assert september.channels["999"].daily_volume == july.channels["999"].daily_volume == 5970
    assert september.pools == july.pools and september.outcomes == july.outcomes


def test_extends_is_relative_to_the_file_not_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "deep").mkdir()
    child = write(tmp_path / "deep", "child.yaml", """\
        extends: ../parent.yaml
        name: child
        """)
    write(tmp_path, "parent.yaml", f"extends: {MET_07}\nname: parent\n")
    monkeypatch.chdir(CONFIGS)
    assert load(child).scenario.name == "child"


def test_extension_keys_are_ignored_and_their_anchors_usable(tmp_path):
    path = child_of(tmp_path, ERLANG_A, """\
        x-notes: {anything: [goes, here], even: {unknown: keys}}
        x-slow: &slow {dist: lognormal, mean: 4min, cv: 0.5}
        handling:
          "101": *slow
        """)
    handling = load(path).scenario.handling["101"]
    assert handling == LognormalSpec(dist="lognormal", mean=240.0, cv=0.5)
    assert "x-notes" not in load(path).raw


def test_the_bundled_met_config_uses_an_extension_anchor_for_its_profile():
    july = load(MET_07).scenario
    assert july.channels["999"].profile == july.channels["101"].profile
    assert len(july.channels["999"].profile.hour_of_day) == 24


def test_yaml_merge_keys_work(tmp_path):
    path = child_of(tmp_path, ERLANG_A, """\
        x-base: &base {dist: lognormal, mean: 4min, cv: 0.5}
        handling:
          "101": {<<: *base, cv: 0.9}
        """)
    assert load(path).scenario.handling["101"] == LognormalSpec(
        dist="lognormal", mean=240.0, cv=0.9)


def test_a_distribution_replaces_the_inherited_one_instead_of_merging(tmp_path):
    # July's 999 handling is lognormal with a cv; merged key by key, exponential would get a cv
    path = child_of(tmp_path, MET_07, """\
        handling:
          "999": {dist: exponential, mean: 5min}
        """)
    assert load(path).scenario.handling["999"] == ExponentialSpec(dist="exponential", mean=300.0)


def test_a_mapping_without_dist_merges_into_the_inherited_distribution(tmp_path):
    path = child_of(tmp_path, MET_07, """\
        handling:
          "999": {mean: 7min}
        """)
    assert load(path).scenario.handling["999"] == LognormalSpec(
        dist="lognormal", mean=420.0, cv=0.8)


def test_a_roster_replaces_the_inherited_one_instead_of_merging(tmp_path):
    # merged, constant + July's shifts would be two forms of roster, an error
    path = child_of(tmp_path, MET_07, """\
        pools:
          call_handlers:
            roster: {constant: 150}
        """)
    pool = load(path).scenario.pools["call_handlers"]
    assert pool.roster.constant == 150 and pool.roster.shifts is None
    assert pool.serves == ["999", "101"]  # the rest of the pool still merges


def test_lists_replace(tmp_path):
    path = child_of(tmp_path, MET_07, """\
        pools:
          call_handlers:
            serves: ["101", "999"]
        """)
    assert load(path).scenario.pools["call_handlers"].serves == ["101", "999"]


def test_null_removes_an_inherited_key(tmp_path):
    path = child_of(tmp_path, MET_07, """\
        channels:
          "999":
            redial: null
        ivr: null
        """)
    scenario = load(path).scenario
    assert scenario.channels["999"].redial is None
    assert scenario.channels["101"].redial is not None
    assert scenario.ivr.enabled is False  # back to the default IVR


def test_a_chain_of_three_files(tmp_path):
    middle = child_of(tmp_path, MET_09, "name: middle\nreplications: 7\n", "middle.yaml")
    child = child_of(tmp_path, middle, "name: child\nseed: 3\n")
    scenario = load(child).scenario
    assert (scenario.name, scenario.replications, scenario.seed) == ("child", 7, 3)
    assert scenario.ivr.enabled  # from met-2018-09, two levels up


# --- overrides -----------------------------------------------------------------------------


def test_overrides_are_read_as_yaml():
    assert parse_override("ivr.enabled=false") == (["ivr", "enabled"], False)
    assert parse_override("name=a=b") == (["name"], "a=b")
    assert parse_override("channels.101.daily_volume=1e3") == (
        ["channels", "101", "daily_volume"], 1000.0)
    assert parse_override("pools.x.serves=[999, online]") == (
        ["pools", "x", "serves"], [999, "online"])


def test_set_with_a_yaml_mapping_value():
    scenario = load(MET_07, ["handling.999={dist: exponential, mean: 60}"]).scenario
    assert scenario.handling["999"] == ExponentialSpec(dist="exponential", mean=60.0)


def test_set_merges_into_the_config_and_later_overrides_win():
    scenario = load(MET_07, ["ivr.enabled=true", "ivr.divert_online=0.2", "ivr.hang_up=0.1",
                             "ivr.hang_up=0.05", "channels.101.redial.switch.999=0.3"]).scenario
    assert scenario.ivr.enabled and scenario.ivr.divert_online == 0.2
    assert scenario.ivr.hang_up == 0.05
    assert scenario.channels["101"].redial.switch == {"999": 0.3, "online": 0.10}


def test_set_can_create_a_block():
    scenario = load(ERLANG_A, ["pools.extra={serves: ['101'], roster: {constant: 2}}"]).scenario
    assert scenario.pools["extra"].roster.constant == 2


def test_set_null_removes():
    scenario = load(MET_07, ["channels.999.redial=null"]).scenario
    assert scenario.channels["999"].redial is None


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("15min", 900.0), ("900", 900.0), ("900s", 900.0), ("900 sec", 900.0), ("0.25h", 900.0),
    ("2h", 7200.0), ("1d", 86400.0), ("1.5e3s", 1500.0), ("1e3", 1000.0), ("0", 0.0),
])
def test_durations_with_units(text, seconds):
    assert load(ERLANG_A, [f"warmup={text}"]).scenario.warmup == seconds


def test_15min_is_900_seconds_wherever_a_duration_goes(tmp_path):
    path = child_of(tmp_path, ERLANG_A, """\
        channels:
          "101": {answer_target: 15min, patience: {dist: deterministic, value: 15min}}
        """)
    spec = load(path).scenario.channels["101"]
    assert spec.answer_target == 900.0
    assert spec.patience == DeterministicSpec(dist="deterministic", value=900.0)


def test_ivr_routed_takes_the_remainder():
    ivr = load(MET_09).scenario.ivr
    assert ivr.routed == pytest.approx(1 - 0.15 - 0.175 - 0.05)
    ivr = load(MET_09, ["ivr.routed=0.5", "ivr.divert_online=0.3", "ivr.divert_other=0.1",
                        "ivr.hang_up=0.1"]).scenario.ivr
    assert ivr.routed == 0.5


def test_yaml_1_1_surprises_are_read_as_they_look(tmp_path):
    # 15:00 unquoted is a time (not the sexagesimal 54000), dates stay dates, 1e3 is a number
    path = child_of(tmp_path, ERLANG_A, """\
        start_date: 2018-09-03
        pools:
          handlers:
            roster:
              shifts:
                - {start: 15:00, hours: 12, handlers: 13}
                - {start: 03:00, hours: 12, handlers: 13}
        channels:
          "101": {daily_volume: 4.8e3}
        """)
    scenario = load(path).scenario
    assert [s.start for s in scenario.pools["handlers"].roster.shifts] == ["15:00", "03:00"]
    assert scenario.start_date == dt.date(2018, 9, 3)
    assert scenario.channels["101"].daily_volume == 4800.0


def test_shares_within_tolerance_are_accepted():
    scenario = load(MET_07, ["outcomes.999.resolved=0.3000000000001"]).scenario
    assert scenario.outcomes["999"].resolved == pytest.approx(0.3)


# --- provenance: which file set what ------------------------------------------------------


def test_provenance_records_which_file_set_each_value(tmp_path):
    child = child_of(tmp_path, MET_09, "name: child\n")
    loaded = load(child, ["seed=5"])
    prov = loaded.provenance
    assert Path(prov[("name",)]).name == "child.yaml"
    assert Path(prov[("ivr", "enabled")]).name == "met-2018-09.yaml"
    assert Path(prov[("channels", "999", "daily_volume")]).name == "met-2018-07.yaml"
    assert prov[("seed",)] == "--set"


def test_an_error_in_a_field_set_by_the_parent_names_the_parent(tmp_path):
    parent = write(tmp_path, "parent.yaml", f"""\
        extends: {MET_07}
        name: parent
        channels:
          "101": {{daily_volume: -3}}
        """)
    child = child_of(tmp_path, parent, "name: child\nseed: 4\n")
    with pytest.raises(ConfigError) as info:
        load(child)
    assert Path(info.value.source).name == "parent.yaml"
    assert info.value.path == "channels.101.daily_volume"
    assert str(info.value).endswith("channels.101.daily_volume: expected a number >= 0 (got -3)")


def test_an_error_in_a_field_the_child_overrides_names_the_child(tmp_path):
    child = child_of(tmp_path, MET_07, 'channels:\n  "101": {daily_volume: -3}\n')
    with pytest.raises(ConfigError) as info:
        load(child)
    assert Path(info.value.source).name == "child.yaml"


def test_a_block_error_names_the_file_that_changed_the_block_last(tmp_path):
    child = child_of(tmp_path, MET_07, 'outcomes:\n  "999": {resolved: 0.5}\n')
    with pytest.raises(ConfigError) as info:
        load(child)
    assert Path(info.value.source).name == "child.yaml" and info.value.path == "outcomes.999"
    with pytest.raises(ConfigError) as info:
        load(MET_07, ["outcomes.999.resolved=0.5"])
    assert info.value.source == "--set"


def test_removing_a_required_field_names_the_file_that_removed_it(tmp_path):
    child = child_of(tmp_path, MET_07, "pools: null\n")
    with pytest.raises(ConfigError) as info:
        load(child)
    assert (Path(info.value.source).name, info.value.path) == ("child.yaml", "pools")


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
def test_python_tags_are_refused(tmp_path, tag):
    path = child_of(tmp_path, ERLANG_A, f"description: {tag}\n")
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
