"""Named random streams: one independent generator per purpose and replication.

Replication ``r`` of a scenario with root seed ``s`` draws, say, the patience of 101 callers from
the stream named ``"patience:101<-101"``, seeded by ``SeedSequence([s, hash(name), r])``.  Two
scenarios run with the same seed therefore see the same callers, the same patience and the same
handling times wherever their configs agree (common random numbers), whatever else differs and
whatever the number of workers.  Names are hashed with BLAKE2b, never Python's salted ``hash``.
Each stream is a numpy PCG64 generator whose busiest draws are compiled
(:mod:`contactsim.compiled_generator`): numpy's values, drawn faster.
"""

from __future__ import annotations

import hashlib

import numpy as np

from contactsim.compiled_generator import CompiledGenerator


def stream_key(name: str) -> int:
    """A stable 64-bit integer for a stream name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def stream(seed: int, name: str, replication: int) -> np.random.Generator:
    """The generator for one purpose in one replication."""
    sequence = np.random.SeedSequence([seed, stream_key(name), replication])
    return CompiledGenerator(np.random.PCG64(sequence))


class Streams:
    """The streams of one replication, fetched by name; each name may be used only once."""

    def __init__(self, seed: int, replication: int):
        self.seed, self.replication = seed, replication
        self._used: set[str] = set()

    def __call__(self, name: str) -> np.random.Generator:
        if name in self._used:
            raise RuntimeError(f"random stream {name!r} used twice in one replication")
        self._used.add(name)
        return stream(self.seed, name, self.replication)
