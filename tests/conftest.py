"""Shared fixtures: both engines, so every engine-level test runs on each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/builders.py

from contactsim import engine, reference  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


@pytest.fixture(params=["fast", "simpy"])
def run_engine(request):
    """Each engine's run(system) -> Records."""
    return {"fast": engine.run, "simpy": reference.run}[request.param]
