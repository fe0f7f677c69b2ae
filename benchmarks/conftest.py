"""Benchmarks are run on demand, never in the default test run:

    pytest benchmarks/ --benchmark-json=results/benchmarks.json
    python benchmarks/report.py results/benchmarks.json > results/benchmarks.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from contactsim.allocator import tune_memory

sys.path.insert(0, str(Path(__file__).parent))

# Benchmarks measure what a command-line run gets, and the command line tunes the allocator
# (contactsim.allocator) before anything else; so does every worker process.
tune_memory()
