"""contactsim: a discrete-event simulator of police contact handling.

999 and 101 calls and online reports arrive by time of day; 101 passes an IVR that may divert
it; handler pools with skills, priorities and shifts answer them; callers abandon and redial;
handled contacts lead to remote investigation (TDIU) or to response officers.  See README.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("contactsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from contactsim.config import ConfigError, load  # noqa: E402
from contactsim.schema import Scenario  # noqa: E402

# The simulation API pulls in numba, pandas and scipy: import it on first use, so that
# `contactsim validate` and config errors answer without paying for it.
_LAZY = {
    "Comparison": "contactsim.api",
    "compare": "contactsim.api",
    "run": "contactsim.api",
    "sweep": "contactsim.api",
    "ExecutorSpec": "contactsim.executors",
    "RunResult": "contactsim.experiment",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'contactsim' has no attribute {name!r}")

__all__ = [
    "Comparison",
    "ConfigError",
    "ExecutorSpec",
    "RunResult",
    "Scenario",
    "__version__",
    "compare",
    "load",
    "run",
    "sweep",
]
