"""The scenario schema: every field of a contact-centre scenario, its unit and its valid range.

A scenario describes one police contact system (MODEL.md): the three channels (999, 101,
online) with their demand, the IVR in front of 101, the call-handler pools and their rosters,
patience and redial, the outcome mix, and the downstream TDIU and response pools.

The schema is written with pydantic so that a wrong config is refused *before any work* with the
field path and what was expected; :mod:`contactsim.config` adds the file name.  Durations are in
seconds and may also be written with a unit (``"10s"``, ``"15min"``, ``"2h"``, ``"1d"``).
Shares must sum to 1 (within 1e-9); where a share is marked *remainder* it may be omitted and
takes what the others leave.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, Union

from pydantic import (
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
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]+)\s*$")


def _parse_duration(value: object) -> object:
    """Turn '15min' into 900.0; leave numbers to the float validator; refuse other units."""
    if isinstance(value, bool):
        raise ValueError("expected a duration (seconds, or a string like '10s', '15min', '2h')")
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match or match.group(2) not in _UNITS:
            raise ValueError(
                f"expected a duration like '10s', '15min', '2h' or '1d' (or a number of "
                f"seconds), got {value!r}"
            )
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


Seconds = Annotated[float, BeforeValidator(_parse_duration), Field(ge=0, allow_inf_nan=False)]
PositiveSeconds = Annotated[
    float, BeforeValidator(_parse_duration), Field(gt=0, allow_inf_nan=False)
]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Channel = Literal["999", "101", "online"]


class Strict(BaseModel):
    """Base of every config block: unknown keys are errors, values are not coerced from text."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class PathError(ValueError):
    """A validation error about a field deeper than the block whose validator found it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _check_shares(shares: dict[str, float], what: str, remainder: str | None = None) -> dict:
    """Shares must sum to 1; a missing *remainder* share takes what the others leave."""
    total = sum(v for k, v in shares.items() if v is not None)
    if remainder is not None and shares.get(remainder) is None:
        if total > 1 + SHARE_TOLERANCE:
            raise ValueError(f"{what} shares sum to {total:.6g}; they must not exceed 1")
        return {**shares, remainder: max(0.0, 1.0 - total)}
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"{what} shares must sum to 1, they sum to {total:.6g}")
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
    cv: Positive = Field(description="coefficient of variation (sd / mean)")

    def sampler(self) -> d.Sampler:
        return d.Lognormal(self.mean, self.cv)


class GammaSpec(Strict):
    dist: Literal["gamma"]
    mean: PositiveSeconds
    cv: Positive

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
    def _weights_match(self) -> "EmpiricalSpec":
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries, values has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def sampler(self) -> d.Sampler:
        weights = tuple(self.weights) if self.weights is not None else None
        return d.Empirical(tuple(self.values), weights)


class NeverSpec(Strict):
    dist: Literal["never"]

    def sampler(self) -> d.Sampler:
        return d.Never()


Distribution = Annotated[
    Union[
        ExponentialSpec,
        DeterministicSpec,
        LognormalSpec,
        GammaSpec,
        WeibullSpec,
        EmpiricalSpec,
        NeverSpec,
    ],
    Field(discriminator="dist"),
]
NEVER = NeverSpec(dist="never")


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
    def _one_form(self) -> "Profile":
        if self.weekly is not None and (self.hour_of_day or self.day_of_week):
            raise ValueError("give either weekly or hour_of_day/day_of_week, not both")
        for name in ("hour_of_day", "day_of_week", "weekly"):
            values = getattr(self, name)
            flat = [x for row in values for x in row] if name == "weekly" and values else values
            if flat is not None and sum(flat) <= 0:
                raise ValueError(f"{name} weights must not all be zero")
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
            raise ValueError(f"switch shares sum to {total:.6g}; they must not exceed 1")
        return value


class ChannelSpec(Strict):
    """Demand and caller behaviour of one channel (999, 101 or online)."""

    daily_volume: NonNegative = Field(description="mean contacts per day over the year")
    profile: Profile = Profile()
    month_factor: dict[Annotated[int, Field(ge=1, le=12)], NonNegative] = Field(
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
    def _shares(self) -> "IVR":
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

    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")
    hours: Annotated[float, Field(gt=0, le=24)]
    handlers: Annotated[int, Field(ge=0)]
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(WEEKDAYS), min_length=1
    )


class Roster(Strict):
    """Handlers on duty per interval of the week: a constant, shifts, or an explicit matrix.

    ``weekly`` has 7 rows (Monday first) of one count per interval of the day.
    """

    constant: Annotated[int, Field(ge=0)] | None = None
    shifts: list[Shift] | None = Field(default=None, min_length=1)
    weekly: list[list[Annotated[int, Field(ge=0)]]] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Roster":
        given = [k for k in ("constant", "shifts", "weekly") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a roster needs exactly one of constant, shifts or weekly"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.weekly is not None and len(self.weekly) != 7:
            raise ValueError(
                f"weekly must have 7 rows (Monday to Sunday), got {len(self.weekly)}"
            )
        return self


class Pool(Strict):
    """Call handlers with the same skills: the channels served, in priority order."""

    serves: list[Channel] = Field(min_length=1, description="channels, highest priority first")
    roster: Roster
    scale: NonNegative = Field(default=1.0, description="multiplier on every roster count")
    handling: dict[Channel, Distribution] = Field(
        default_factory=dict, description="overrides of the scenario's handling time"
    )

    @field_validator("serves")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
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
    def _sum(self) -> "Outcomes":
        _check_shares(self.model_dump(), "outcome")
        return self


class CrimeScreening(Strict):
    """What happens to crime reports: remote investigation, deployment, or screened out."""

    tdiu: Share
    deploy: Share
    screened_out: Share
    deploy_grade: Literal["I", "S", "E"] = "E"

    @model_validator(mode="after")
    def _sum(self) -> "CrimeScreening":
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
            raise ValueError(f"missing target for grade {', '.join(missing)}")
        return value


class Backlog(Strict):
    """Work already waiting when the horizon starts."""

    queued: dict[Channel, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    tdiu_reports: Annotated[int, Field(ge=0)] = 0


# --- the scenario --------------------------------------------------------------------------


class Scenario(Strict):
    """A whole police contact system and how to simulate it."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    start_date: dt.date = dt.date(2018, 7, 2)
    horizon_days: Positive = Field(le=3660)
    warmup: Seconds = 0.0
    interval: PositiveSeconds = 900.0
    replications: Annotated[int, Field(ge=1, le=100_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    short_abandon: Seconds = Field(
        default=0.0, description="abandons within this many seconds are not counted as offered"
    )
    channels: dict[Channel, ChannelSpec]
    ivr: IVR = IVR()
    handling: dict[Channel, Distribution] = Field(default_factory=dict)
    pools: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")], Pool] = Field(min_length=1)
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
    def _coherent(self) -> "Scenario":
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
        per_day = 86400.0 / self.interval
        if abs(per_day - round(per_day)) > 1e-9:
            raise PathError("interval", f"{self.interval:g} s does not divide a day evenly")

    def _check_warmup(self) -> None:
        if self.warmup >= self.horizon:
            raise PathError(
                "warmup", f"{self.warmup:g} s must be shorter than the horizon ({self.horizon:g} s)"
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
                            f"{day} has {len(row)} counts; the week must be covered with "
                            f"{per_day} per day (interval {self.interval:g} s)",
                        )
            for i, shift in enumerate(roster.shifts or []):
                hh, mm = map(int, shift.start.split(":"))
                span = (hh * 3600 + mm * 60, shift.hours * 3600)
                if any(abs(x / self.interval - round(x / self.interval)) > 1e-9 for x in span):
                    raise PathError(
                        f"{path}.shifts.{i}",
                        f"start and length must fall on interval boundaries "
                        f"({self.interval:g} s)",
                    )

    def _check_handling(self) -> None:
        for name, pool in self.pools.items():
            for channel in pool.handling:
                if channel not in pool.serves:
                    raise PathError(
                        f"pools.{name}.handling.{channel}", f"the pool does not serve {channel}"
                    )
            for channel in pool.serves:
                if channel not in pool.handling and channel not in self.handling:
                    raise PathError(
                        f"pools.{name}.serves",
                        f"no handling time for channel {channel} "
                        f"(set handling.{channel} or pools.{name}.handling.{channel})",
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
                    "contacts can reach this channel (IVR diversion, redial or backlog) but it "
                    "is not configured",
                )
            if channel not in served:
                raise PathError("pools", f"channel {channel} receives contacts but no pool serves it")

    def _check_downstream(self) -> None:
        for channel in self.reachable_channels():
            if self.outcomes and channel not in self.outcomes:
                raise PathError(f"outcomes.{channel}", "missing: the channel receives contacts")
        crimes = any(o.crime > 0 for o in self.outcomes.values())
        if crimes and self.crime_screening is None:
            raise PathError("crime_screening", "required when outcomes include crime reports")
        screening = self.crime_screening
        if (screening and screening.tdiu > 0 and crimes) or self.backlog.tdiu_reports:
            if self.tdiu is None:
                raise PathError("tdiu", "required when crime reports are allocated to the TDIU")
        incidents = any(
            o.incident_I + o.incident_S + o.incident_E > 0 for o in self.outcomes.values()
        )
        if (incidents or (screening and screening.deploy > 0 and crimes)) and not self.response:
            raise PathError("response", "required when contacts lead to deployments")
