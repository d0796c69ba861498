"""The plan worker: a helper process computing the plans of a bulk load's new patients.

Planning is about a third of a large import's time, and it needs nothing but the rules, so
:class:`PlanWorker` runs :func:`followup.store.plan_rows.plan_batch` in a helper process (see
:mod:`followup.store.helper_process`) while the loader goes on reading and writing: the loader
hands over each batch's exams, film transfers and biopsies (plain tuples and rules values,
everything the plans read) and writes the rows that come back, in the same transaction.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import date
from typing import Any

from followup import rules
from followup.store.errors import HelperStopped
from followup.store.helper_process import become_helper, interrupts_ignored
from followup.store.plan_rows import PlanBiopsy, PlanExam, PlanRows, PlanTransfer, plan_batch
from followup.store.rules_inputs import FindingCache


def iso_day(value: date) -> str:
    """A date as SQLite stores it (what SQLAlchemy's SQLite Date type binds)."""
    return value.isoformat()


def same_day(value: date) -> date:
    """A date as PostgreSQL's driver takes it."""
    return value


# -- the worker process ----------------------------------------------------------------------

_worker: tuple[rules.Policy, Callable[[date], Any], FindingCache] | None = None


def _start(policy: rules.Policy, iso: bool) -> None:
    global _worker
    become_helper()
    _worker = (policy, iso_day if iso else same_day, FindingCache())


def _run(
    exams: Sequence[PlanExam],
    transfers: Sequence[PlanTransfer],
    biopsies: Sequence[PlanBiopsy],
    names: dict[int, str],
) -> PlanRows:
    assert _worker is not None, "the plan worker was not started"
    policy, day, findings = _worker
    return plan_batch(exams, transfers, biopsies, names, policy, day, findings)


class PlanWorker:
    """One spawned helper process computing batches of plan rows, in the order given.

    :meth:`submit` returns at once; :meth:`ready` yields the rows of finished batches, oldest
    first, waiting for them when more than ``ahead`` batches are still being computed (so at
    most that many batches of exams are held); :meth:`drain` waits for all of them. A worker
    that died raises :class:`HelperStopped`. :meth:`close` stops it."""

    def __init__(self, policy: rules.Policy, iso: bool, ahead: int = 2) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(policy, iso),
        )
        self._pending: list[Future[PlanRows]] = []
        self._ahead = ahead

    def submit(
        self,
        exams: Sequence[PlanExam],
        transfers: Sequence[PlanTransfer],
        biopsies: Sequence[PlanBiopsy],
        names: dict[int, str],
    ) -> None:
        """Hand over one batch: what :func:`~followup.store.plan_rows.plan_batch` takes."""
        with _stopped_is_an_error(), interrupts_ignored():  # the process starts at the first
            self._pending.append(self._pool.submit(_run, exams, transfers, biopsies, names))

    def ready(self) -> Iterable[PlanRows]:
        while self._pending and (len(self._pending) > self._ahead or self._pending[0].done()):
            yield self._next()

    def drain(self) -> Iterable[PlanRows]:
        while self._pending:
            yield self._next()

    def _next(self) -> PlanRows:
        with _stopped_is_an_error():
            return self._pending.pop(0).result()

    def close(self) -> None:
        """Stop the process; batches not collected are dropped (the load failed)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _stopped_is_an_error() -> Iterator[None]:
    try:
        yield
    except BrokenProcessPool:
        raise HelperStopped(
            "the process computing the plans stopped unexpectedly; nothing was written"
        ) from None
