"""The scenario schema: every field of a contact-centre scenario, its unit and its valid range.

A scenario describes one police contact system (MODEL.md): the three channels (999, 101,
online) with their demand, the IVR in front of 101, the call-handler pools and their rosters,
patience and redial, the outcome mix, and the downstream TDIU and response pools.

The schema is written with pydantic so that a wrong config is refused *before any work* with the
field path and what was expected; :mod:`contactsim.config` adds the file name.  Durations are in
seconds and may also be written with a unit (``"10s"``, ``"15min"``, ``"2h"``, ``"1d"``).
Shares must sum to 1 (within 1e-9); where a share is marked *remainder* it may be omitted and
takes what the others leave.

Validation is strict: a number must be written as a number (``"5"`` and ``true`` are refused,
not coerced), a whole number as a whole number; only dates and month numbers may be text.
Counts and multipliers have upper bounds that keep the engine's integer arrays from overflowing.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from contactsim import distributions as d

CHANNELS: tuple[str, ...] = ("999", "101", "online")
GRADES: tuple[str, ...] = ("I", "S", "E")
SHARE_TOLERANCE = 1e-9
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_DURATION_EXAMPLES = "'10s', '15min', '2h' or '1d', or a number of seconds"

# Regular expressions of names and times, and how to say what they mean in an error message
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"  # no leading dot: names become folders
POOL_NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
PATTERN_MEANING = {
    NAME_PATTERN: "a name of letters, digits, '_', '.' and '-', not starting with '.'",
    POOL_NAME_PATTERN: "a name of letters, digits, '_' and '-'",
    TIME_PATTERN: "a time of day HH:MM, e.g. '07:00'",
}

MAX_COUNT = 1_000_000  # handlers on duty in one roster entry
MAX_SCALE = 1_000.0  # pool scale: MAX_COUNT x MAX_SCALE stays far inside int64
MAX_BACKLOG = 10_000_000
MAX_DAILY_VOLUME = 10_000_000  # contacts a day: ~700 times the Met's 999 + 101 demand
MAX_MONTH_FACTOR = 100.0
MIN_INTERVAL = 60.0  # seconds; finer intervals make roster and report arrays needlessly large


def _parse_duration(value: object) -> object:
    """Turn '15min' into 900.0; leave numbers to the float validator; refuse other text."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration: {_DURATION_EXAMPLES} (got {value!r})")
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"expected a duration: {_DURATION_EXAMPLES} (got {value!r})")
        number, unit = match.groups()
        if not unit:
            raise ValueError(
                f"a duration written as text needs a unit: {_DURATION_EXAMPLES} "
                f"(got {value!r}; write {number} without quotes for seconds)"
            )
        if unit not in _UNITS:
            raise ValueError(
                f"unknown unit '{unit}'; expected one of {', '.join(_UNITS)} (got {value!r})"
            )
        return float(number) * _UNITS[unit]
    return value


def _cv_in_range(value: float) -> float:
    if not 1e-3 <= value <= 100:
        raise ValueError(
            f"expected a coefficient of variation between 0.001 and 100 (got {value!r}); "
            "for durations that do not vary use dist: deterministic"
        )
    return value


Seconds = Annotated[float, BeforeValidator(_parse_duration), Field(ge=0, allow_inf_nan=False)]
PositiveSeconds = Annotated[
    float, BeforeValidator(_parse_duration), Field(gt=0, allow_inf_nan=False)
]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
CV = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_cv_in_range)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Channel = Literal["999", "101", "online"]


class Strict(BaseModel):
    """Base of every config block: unknown keys are errors, values are not coerced from text."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PathError(ValueError):
    """A validation error about a field deeper than the block whose validator found it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _sum_text(shares: dict[str, float | None]) -> str:
    given = {k: v for k, v in shares.items() if v is not None}
    total = sum(given.values())
    return " + ".join(f"{k} {v:g}" for k, v in given.items()) + f" = {total:.6g}"


def _check_shares(shares: dict[str, float], what: str, remainder: str | None = None) -> dict:
    """Shares must sum to 1; a missing *remainder* share takes what the others leave."""
    total = sum(v for k, v in shares.items() if v is not None)
    if remainder is not None and shares.get(remainder) is None:
        if total > 1 + SHARE_TOLERANCE:
            raise ValueError(
                f"expected {what} shares summing to at most 1, {remainder} taking the rest "
                f"(got {_sum_text(shares)})"
            )
        return {**shares, remainder: max(0.0, 1.0 - total)}
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"expected {what} shares summing to 1 (got {_sum_text(shares)})")
    return shares


# --- distributions -------------------------------------------------------------------------


class ExponentialSpec(Strict):
    dist: Literal["exponential"]
    mean: PositiveSeconds

    def sampler(self) -> d.Sampler:
        return d.Exponential(self.mean)


class DeterministicSpec(Strict):
    dist: Literal["deterministic"]
    value: Seconds

    def sampler(self) -> d.Sampler:
        return d.Deterministic(self.value)


class LognormalSpec(Strict):
    dist: Literal["lognormal"]
    mean: PositiveSeconds
    cv: CV = Field(description="coefficient of variation (sd / mean)")

    def sampler(self) -> d.Sampler:
        return d.Lognormal(self.mean, self.cv)


class GammaSpec(Strict):
    dist: Literal["gamma"]
    mean: PositiveSeconds
    cv: CV = Field(description="coefficient of variation (sd / mean)")

    def sampler(self) -> d.Sampler:
        return d.Gamma(self.mean, self.cv)


class WeibullSpec(Strict):
    dist: Literal["weibull"]
    shape: Positive
    scale: PositiveSeconds

    def sampler(self) -> d.Sampler:
        return d.Weibull(self.shape, self.scale)


class EmpiricalSpec(Strict):
    dist: Literal["empirical"]
    values: list[Seconds] = Field(min_length=1)
    weights: list[NonNegative] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> EmpiricalSpec:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise PathError(
                    "weights",
                    f"expected one weight per value, {len(self.values)} "
                    f"(got {len(self.weights)})",
                )
            if sum(self.weights) <= 0:
                raise PathError("weights", "expected at least one weight above zero (got all 0)")
        return self

    def sampler(self) -> d.Sampler:
        weights = tuple(self.weights) if self.weights is not None else None
        return d.Empirical(tuple(self.values), weights)


class NeverSpec(Strict):
    dist: Literal["never"]

    def sampler(self) -> d.Sampler:
        return d.Never()


Distribution = Annotated[
    ExponentialSpec | DeterministicSpec | LognormalSpec | GammaSpec | WeibullSpec | EmpiricalSpec
    | NeverSpec,
    Field(discriminator="dist"),
]
NEVER = NeverSpec(dist="never")
DIST_NAMES: tuple[str, ...] = tuple(
    typing.get_args(spec.model_fields["dist"].annotation)[0]
    for spec in typing.get_args(typing.get_args(Distribution)[0])
)


# --- demand --------------------------------------------------------------------------------


class Profile(Strict):
    """Relative demand by hour of day and day of week (Monday first); normalised to mean 1.

    Either the product form (``hour_of_day`` × ``day_of_week``) or a full ``weekly`` 7×24 matrix.
    """

    hour_of_day: list[NonNegative] | None = Field(default=None, min_length=24, max_length=24)
    day_of_week: list[NonNegative] | None = Field(default=None, min_length=7, max_length=7)
    weekly: list[Annotated[list[NonNegative], Field(min_length=24, max_length=24)]] | None = (
        Field(default=None, min_length=7, max_length=7)
    )

    @model_validator(mode="after")
    def _one_form(self) -> Profile:
        if self.weekly is not None and (self.hour_of_day or self.day_of_week):
            raise ValueError(
                "expected either weekly or hour_of_day/day_of_week (got both forms)"
            )
        for name in ("hour_of_day", "day_of_week", "weekly"):
            values = getattr(self, name)
            flat = [x for row in values for x in row] if name == "weekly" and values else values
            if flat is not None and sum(flat) <= 0:
                raise PathError(name, "expected at least one weight above zero (got all 0)")
        return self


class Redial(Strict):
    """What callers who abandon in the queue do next (MODEL.md: abandonment and redial)."""

    probability: Share = Field(description="chance an abandoning caller tries again")
    delay: Distribution
    max_attempts: int = Field(ge=1, le=20, description="attempts in all, the first included")
    switch: dict[Channel, Share] = Field(
        default_factory=dict,
        description="share of redials made on another channel; the rest stay on this one",
    )

    @field_validator("switch")
    @classmethod
    def _switch_at_most_one(cls, value: dict[str, float]) -> dict[str, float]:
        total = sum(value.values())
        if total > 1 + SHARE_TOLERANCE:
            raise ValueError(
                "expected switch shares summing to at most 1, the rest redialling on the same "
                f"channel (got {_sum_text(value)})"
            )
        return value


class ChannelSpec(Strict):
    """Demand and caller behaviour of one channel (999, 101 or online)."""

    daily_volume: Annotated[NonNegative, Field(le=MAX_DAILY_VOLUME)] = Field(
        description="mean contacts per day over the year"
    )
    profile: Profile = Profile()
    month_factor: dict[
        Annotated[int, Field(strict=False, ge=1, le=12)],
        Annotated[NonNegative, Field(le=MAX_MONTH_FACTOR)],
    ] = Field(
        default_factory=dict, description="seasonal multiplier by calendar month; 1 if absent"
    )
    answer_target: PositiveSeconds
    patience: Distribution = NEVER
    redial: Redial | None = None


class IVR(Strict):
    """The automated menu in front of 101 (introduced by the Met on 15 August 2018)."""

    enabled: bool = False
    menu_time: Distribution = DeterministicSpec(dist="deterministic", value=0.0)
    routed: Share | None = Field(default=None, description="remainder if omitted")
    divert_online: Share = 0.0
    divert_other: Share = 0.0
    hang_up: Share = 0.0

    @model_validator(mode="after")
    def _shares(self) -> IVR:
        shares = _check_shares(
            {
                "routed": self.routed,
                "divert_online": self.divert_online,
                "divert_other": self.divert_other,
                "hang_up": self.hang_up,
            },
            "IVR",
            remainder="routed",
        )
        object.__setattr__(self, "routed", shares["routed"])
        return self


# --- rosters and pools ---------------------------------------------------------------------


class Shift(Strict):
    """A block of handlers on duty from ``start`` for ``hours`` on the given days."""

    start: str = Field(pattern=TIME_PATTERN, description="HH:MM")
    hours: Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)]
    handlers: Count
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(WEEKDAYS), min_length=1
    )

    @field_validator("days")
    @classmethod
    def _days_once(cls, value: list[str]) -> list[str]:
        twice = sorted({day for day in value if value.count(day) > 1}, key=WEEKDAYS.index)
        if twice:
            raise ValueError(f"expected each day at most once (got {', '.join(twice)} twice)")
        return value


class Roster(Strict):
    """Handlers on duty per interval of the week: a constant, shifts, or an explicit matrix.

    ``weekly`` has 7 rows (Monday first) of one count per interval of the day.
    """

    constant: Count | None = None
    shifts: list[Shift] | None = Field(default=None, min_length=1)
    weekly: list[list[Count]] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Roster:
        given = [k for k in ("constant", "shifts", "weekly") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of constant, shifts or weekly "
                f"(got {' and '.join(given) if given else 'none'})"
            )
        if self.weekly is not None and len(self.weekly) != 7:
            raise PathError(
                "weekly", f"expected 7 rows, Monday to Sunday (got {len(self.weekly)})"
            )
        return self


class Pool(Strict):
    """Call handlers with the same skills: the channels served, in priority order."""

    serves: list[Channel] = Field(min_length=1, description="channels, highest priority first")
    roster: Roster
    scale: Annotated[NonNegative, Field(le=MAX_SCALE)] = Field(
        default=1.0, description="multiplier on every roster count"
    )
    handling: dict[Channel, Distribution] = Field(
        default_factory=dict, description="overrides of the scenario's handling time"
    )

    @field_validator("serves")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        twice = sorted({c for c in value if value.count(c) > 1})
        if twice:
            raise ValueError(f"expected each channel once (got {', '.join(twice)} twice)")
        return value


# --- outcomes and downstream ---------------------------------------------------------------


class Outcomes(Strict):
    """How a handled contact ends (MODEL.md: outcomes)."""

    resolved: Share
    crime: Share
    incident_I: Share
    incident_S: Share
    incident_E: Share

    @model_validator(mode="after")
    def _sum(self) -> Outcomes:
        _check_shares(self.model_dump(), "outcome")
        return self


class CrimeScreening(Strict):
    """What happens to crime reports: remote investigation, deployment, or screened out."""

    tdiu: Share
    deploy: Share
    screened_out: Share
    deploy_grade: Literal["I", "S", "E"] = "E"

    @model_validator(mode="after")
    def _sum(self) -> CrimeScreening:
        _check_shares(
            {"tdiu": self.tdiu, "deploy": self.deploy, "screened_out": self.screened_out},
            "crime screening",
        )
        return self


class TDIU(Strict):
    """The Telephone and Digital Investigation Unit: investigators working crime reports."""

    roster: Roster
    investigation_time: Distribution


class Response(Strict):
    """Response officers: units attending I/S/E incidents, highest grade first."""

    roster: Roster
    travel_time: Distribution
    on_scene_time: Distribution
    targets: dict[Literal["I", "S", "E"], PositiveSeconds] = Field(
        default_factory=lambda: {"I": 900.0, "S": 3600.0, "E": 172800.0}
    )

    @field_validator("targets")
    @classmethod
    def _all_grades(cls, value: dict[str, float]) -> dict[str, float]:
        missing = [g for g in GRADES if g not in value]
        if missing:
            raise ValueError(
                f"expected a target for each grade I, S and E (got none for {', '.join(missing)})"
            )
        return value


class Backlog(Strict):
    """Work already waiting when the horizon starts."""

    queued: dict[Channel, Annotated[int, Field(ge=0, le=MAX_BACKLOG)]] = Field(
        default_factory=dict
    )
    tdiu_reports: Annotated[int, Field(ge=0, le=MAX_BACKLOG)] = 0


# --- the scenario --------------------------------------------------------------------------


class Scenario(Strict):
    """A whole police contact system and how to simulate it."""

    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    description: str = ""
    start_date: dt.date = Field(default=dt.date(2018, 7, 2), strict=False)
    horizon_days: Positive = Field(le=3660)
    warmup: Seconds = 0.0
    interval: PositiveSeconds = Field(
        default=900.0, description="roster and reporting interval; at least 1min, divides a day"
    )
    replications: Annotated[int, Field(ge=1, le=100_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    short_abandon: Seconds = Field(
        default=0.0, description="abandons within this many seconds are not counted as offered"
    )
    channels: dict[Channel, ChannelSpec] = Field(min_length=1)
    ivr: IVR = IVR()
    handling: dict[Channel, Distribution] = Field(default_factory=dict)
    pools: dict[Annotated[str, Field(pattern=POOL_NAME_PATTERN)], Pool] = Field(min_length=1)
    outcomes: dict[Channel, Outcomes] = Field(default_factory=dict)
    crime_screening: CrimeScreening | None = None
    tdiu: TDIU | None = None
    response: Response | None = None
    backlog: Backlog = Backlog()

    @property
    def horizon(self) -> float:
        """Simulated time in seconds."""
        return self.horizon_days * 86400.0

    @property
    def intervals_per_day(self) -> int:
        return int(round(86400.0 / self.interval))

    @model_validator(mode="after")
    def _coherent(self) -> Scenario:
        for check in (
            self._check_interval,
            self._check_warmup,
            self._check_rosters,
            self._check_handling,
            self._check_served,
            self._check_downstream,
        ):
            check()
        return self

    def _check_interval(self) -> None:
        if self.interval < MIN_INTERVAL:
            raise PathError(
                "interval", f"expected at least {MIN_INTERVAL:g} s (got {self.interval:.10g} s)"
            )
        per_day = 86400.0 / self.interval
        if abs(per_day - round(per_day)) > 1e-9:
            raise PathError(
                "interval",
                f"expected a duration that divides a day evenly, e.g. 15min, 30min or 1h "
                f"(got {self.interval:.10g} s)",
            )

    def _check_warmup(self) -> None:
        if self.warmup >= self.horizon:
            raise PathError(
                "warmup",
                f"expected less than the horizon, horizon_days {self.horizon_days:g} = "
                f"{self.horizon:.10g} s (got {self.warmup:.10g} s)",
            )

    def _rosters(self) -> dict[str, Roster]:
        rosters = {f"pools.{name}.roster": pool.roster for name, pool in self.pools.items()}
        if self.tdiu:
            rosters["tdiu.roster"] = self.tdiu.roster
        if self.response:
            rosters["response.roster"] = self.response.roster
        return rosters

    def _check_rosters(self) -> None:
        per_day = self.intervals_per_day
        for path, roster in self._rosters().items():
            if roster.weekly is not None:
                for day, row in zip(WEEKDAYS, roster.weekly):
                    if len(row) != per_day:
                        raise PathError(
                            f"{path}.weekly",
                            f"expected {per_day} counts a day, one per interval of "
                            f"{self.interval:g} s, to cover the week (got {len(row)} for {day})",
                        )
            for i, shift in enumerate(roster.shifts or []):
                hh, mm = map(int, shift.start.split(":"))
                span = (hh * 3600 + mm * 60, shift.hours * 3600)
                if any(abs(x / self.interval - round(x / self.interval)) > 1e-9 for x in span):
                    raise PathError(
                        f"{path}.shifts.{i}",
                        f"expected start and hours on interval boundaries, every "
                        f"{self.interval:g} s (got start {shift.start}, hours {shift.hours:g})",
                    )

    def _check_handling(self) -> None:
        for name, pool in self.pools.items():
            for channel in pool.handling:
                if channel not in pool.serves:
                    raise PathError(
                        f"pools.{name}.handling.{channel}",
                        f"expected handling times only for channels the pool serves "
                        f"(got {channel}; serves {', '.join(pool.serves)})",
                    )
            for channel in pool.serves:
                if channel not in pool.handling and channel not in self.handling:
                    raise PathError(
                        f"pools.{name}.serves",
                        f"expected a handling time for every channel served (got none for "
                        f"{channel}: set handling.{channel} or pools.{name}.handling.{channel})",
                    )

    def reachable_channels(self) -> set[str]:
        """Channels that can receive contacts: demand, backlog, IVR diversion, redial switches."""
        reach = {c for c, spec in self.channels.items() if spec.daily_volume > 0}
        reach |= {c for c, n in self.backlog.queued.items() if n > 0}
        if self.ivr.enabled and "101" in reach and self.ivr.divert_online > 0:
            reach.add("online")
        for c in list(reach):
            spec = self.channels.get(c)
            if spec and spec.redial and spec.redial.probability > 0:
                reach |= {t for t, share in spec.redial.switch.items() if share > 0}
        return reach

    def _check_served(self) -> None:
        served = {c for pool in self.pools.values() for c in pool.serves}
        for channel in sorted(self.reachable_channels()):
            if channel not in self.channels:
                raise PathError(
                    f"channels.{channel}",
                    "expected a channel spec: contacts reach this channel by IVR diversion, "
                    "redial or backlog (got none)",
                )
            if channel not in served:
                raise PathError(
                    "pools",
                    f"expected a pool serving every channel that receives contacts "
                    f"(got none serving {channel})",
                )

    def _check_downstream(self) -> None:
        for channel in self.reachable_channels():
            if self.outcomes and channel not in self.outcomes:
                raise PathError(
                    f"outcomes.{channel}",
                    "expected outcome shares for every channel that receives contacts (got none)",
                )
        crimes = any(o.crime > 0 for o in self.outcomes.values())
        if crimes and self.crime_screening is None:
            raise PathError(
                "crime_screening", "required when outcomes include crime reports (got none)"
            )
        screening = self.crime_screening
        needs_tdiu = (screening and screening.tdiu > 0 and crimes) or self.backlog.tdiu_reports
        if needs_tdiu and self.tdiu is None:
            raise PathError(
                "tdiu", "required when crime reports are allocated to the TDIU (got none)"
            )
        incidents = any(
            o.incident_I + o.incident_S + o.incident_E > 0 for o in self.outcomes.values()
        )
        if (incidents or (screening and screening.deploy > 0 and crimes)) and not self.response:
            raise PathError("response", "required when contacts lead to deployments (got none)")
