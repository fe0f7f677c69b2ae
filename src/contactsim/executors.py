"""Executors: where replications run — in this process, a local process pool, or a Dask cluster.

A *task* is one replication of one scenario; it is a pure function of (scenario, replication,
engine), so it can run anywhere, in any order, and give the same tables.  Executors yield
``(task index, result)`` as tasks finish, so the caller can store each result at once.

* ``local`` with ``workers=1``: in this process (no pickling, easiest to debug);
* ``local`` with more workers: a ``concurrent.futures`` process pool.  Where the platform can
  ``fork`` safely (Linux), workers are forked from this process, so they start in milliseconds with
  contactsim imported and the compiled engine already loaded; elsewhere they come from a *fork
  server* that imports both first.  A fork server costs one to two seconds per run before the
  first replication starts — longer than a whole one-week replication takes — so two workers
  were barely faster than one (1.15× on 16 one-week replications).  The threads this process
  may hold when it forks are idle library pools (OpenBLAS, Arrow) that reinitialise themselves
  in the child;
* ``dask``: a Dask ``distributed`` cluster — the scheduler at ``--scheduler tcp://HOST:PORT``, or
  a ``LocalCluster`` of ``workers`` single-threaded processes when no address is given.  The
  memory settings of :mod:`contactsim.allocator` are applied to a ``LocalCluster``'s workers
  (a cluster given by address may run others' work too, so its processes are left as they
  are); there numpy stops advising huge pages, while ``malloc`` keeps the settings Dask gives
  its workers (``MALLOC_TRIM_THRESHOLD_``, which ``keep_freed_memory`` leaves to win).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from contactsim.allocator import tune_memory

EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class ExecutorSpec:
    """How to run tasks: ``kind`` local or dask, worker count, optional Dask scheduler address."""

    kind: str = "local"
    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ValueError(f"unknown executor {self.kind!r}; expected one of {EXECUTORS}")
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be at least 1")

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1


def run_tasks(
    fn: Callable[..., Any], tasks: Sequence[tuple], spec: ExecutorSpec
) -> Iterator[tuple[int, Any]]:
    """Apply ``fn(*task)`` to every task; yield (index, result) in completion order."""
    if not tasks:
        return
    if spec.kind == "dask":
        yield from _dask(fn, tasks, spec)
    elif spec.n_workers == 1 or len(tasks) == 1:
        for index, task in enumerate(tasks):
            yield index, fn(*task)
    else:
        yield from _process_pool(fn, tasks, spec.n_workers)


def _worker_context():
    """Fork on Linux (workers inherit the loaded engine), else a preloaded fork server.

    (macOS can fork too, but its system libraries are not safe to use in a forked child.)"""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["contactsim.experiment", "contactsim.engine"])
    return context


def _start_worker(parent: int) -> None:
    """Worker initializer: reuse freed memory, and die with the parent even if it is killed.

    A forked worker holds its own copy of the pipe it reads tasks from, so a SIGKILLed parent
    would leave it waiting forever; on Linux the kernel can signal it instead."""
    tune_memory()
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _process_pool(fn, tasks, workers: int):
    context = _worker_context()
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                             initializer=_start_worker, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(fn, *task): index for index, task in enumerate(tasks)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _dask(fn, tasks, spec: ExecutorSpec):
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "the dask executor needs the 'distributed' package: pip install 'contactsim[dask]'"
        ) from exc
    cluster = None
    if spec.scheduler is None:
        cluster = LocalCluster(n_workers=spec.n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(spec.scheduler or cluster)
    try:
        if cluster is not None:  # our own workers, not a shared cluster's
            client.run(tune_memory)
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in dask_completed(futures):
            yield index[future.key], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
