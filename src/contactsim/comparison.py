"""Paired comparison of scenarios on common random numbers.

Run with the same seed, replication ``r`` of the base and of an alternative see the same callers
wherever their configs agree, so the difference ``alt_r - base_r`` varies much less than either
KPI does: its confidence interval (the *paired* CI) is narrower than the one the same comparison
would have with independent seeds, which is estimated from the two KPIs' own variances
(Welch: ``t * sqrt(s_base² / n + s_alt² / n)``).  Both half-widths are reported, so the user sees
what common random numbers bought.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contactsim.metrics import t_quantile

CONFIDENCE = 0.95


def _half_width(sd: pd.Series, n: pd.Series, df: pd.Series) -> pd.Series:
    tq = t_quantile(CONFIDENCE, np.maximum(df, 1))
    return pd.Series(np.where(n > 1, tq * sd / np.sqrt(n), np.nan), index=sd.index)


def paired_differences(table: pd.DataFrame, base: str, alt: str, keys: list[str]) -> pd.DataFrame:
    """Per ``keys`` (e.g. channel, metric): base and alt means, paired difference and CIs.

    ``table`` is a long per-replication table with a ``point`` column naming base and alt.
    """
    pair = table[table["point"].isin([base, alt])]
    wide = pair.set_index(keys + ["replication", "point"])["value"].unstack("point")
    wide = wide[[base, alt]].dropna().reset_index()
    wide["diff"] = wide[alt] - wide[base]
    grouped = wide.groupby(keys, sort=False)
    out = grouped.agg(
        base_mean=(base, "mean"), alt_mean=(alt, "mean"), diff_mean=("diff", "mean"),
        diff_sd=("diff", "std"), base_sd=(base, "std"), alt_sd=(alt, "std"), n=("diff", "count"),
    ).reset_index()
    out["paired_half_width"] = _half_width(out["diff_sd"], out["n"], out["n"] - 1)
    independent_sd = np.sqrt(out["base_sd"] ** 2 + out["alt_sd"] ** 2)
    out["independent_half_width"] = _half_width(independent_sd, out["n"], 2 * (out["n"] - 1))
    out["diff_ci_low"] = out["diff_mean"] - out["paired_half_width"]
    out["diff_ci_high"] = out["diff_mean"] + out["paired_half_width"]
    out.insert(0, "alternative", alt)
    out.insert(0, "base", base)
    return out.drop(columns=["diff_sd", "base_sd", "alt_sd"])
