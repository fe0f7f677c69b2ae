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

from contactsim.api import Comparison, compare, run, sweep  # noqa: E402
from contactsim.config import ConfigError, load  # noqa: E402
from contactsim.executors import ExecutorSpec  # noqa: E402
from contactsim.experiment import RunResult  # noqa: E402
from contactsim.schema import Scenario  # noqa: E402

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
