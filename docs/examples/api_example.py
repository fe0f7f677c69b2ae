"""The Python API in a few lines: run, compare on common random numbers, sweep.

    python docs/examples/api_example.py
"""

from pathlib import Path

import contactsim

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHORT = ["horizon_days=2", "warmup=6h"]  # keep the example quick

# 1. One scenario, 4 replications: per-replication tables and their 95% CIs
july = contactsim.run(CONFIGS / "met-2018-07.yaml", overrides=SHORT, replications=4)
sl = july.summary_ci.query("metric == 'service_level'")[["channel", "mean", "ci_low", "ci_high"]]
print("July, share answered within target:\n", sl.to_string(index=False), "\n")

# 2. IVR off (July) vs on (September config): paired differences on common random numbers
comparison = contactsim.compare(CONFIGS / "met-2018-07.yaml", [CONFIGS / "met-2018-09.yaml"],
                                overrides=SHORT, replications=4)
diff = comparison.differences.query("metric in ['service_level', 'abandon_rate']")
print(diff[["channel", "metric", "base_mean", "alt_mean", "diff_mean", "paired_half_width",
            "independent_half_width"]].to_string(index=False), "\n")

# 3. A sweep of the IVR's online diversion share: one long table with the value on every row
grid = contactsim.sweep(CONFIGS / "met-2018-09.yaml", ["ivr.divert_online=0.1,0.2"],
                        overrides=SHORT, replications=2)
table = grid.summary_ci.query("channel == '101' and metric == 'service_level'")
print(table[["ivr.divert_online", "mean", "ci_low", "ci_high"]].to_string(index=False))
