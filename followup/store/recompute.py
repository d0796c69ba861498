"""Rebuilding every stored plan (``followup recompute``), e.g. after a policy change.

The policy of the last complete rebuild is recorded in ``settings``
(:func:`followup.store.plans.plans_policy_differs` reads it), so a report run under another
policy can say the plans are stale.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from followup import rules
from followup.store.bulk import rewrite_plans
from followup.store.database import Database
from followup.store.models import Patient, Setting
from followup.store.plans import POLICY_SETTING, policy_text

RECOMPUTE_BATCH = 20_000  # patient ids per transaction


def recompute_plans(
    database: Database,
    policy: rules.Policy,
    progress: Callable[[int, int], None],
    batch: int = RECOMPUTE_BATCH,
) -> int:
    """Rebuild every plan, a range of patient ids per transaction; returns the plans written.

    Each range is rewritten whole or not at all, so an interruption leaves every plan
    consistent (old or new). The policy is recorded only after the last range: an interrupted
    run still warns, and running it again redoes the whole job. ``progress(done, total)`` is
    told patient ids covered so far.
    """
    with database.transaction(write=False) as session:
        last = session.scalar(select(func.max(Patient.id))) or 0
    written = 0
    for first in range(1, last + 1, batch):
        end = min(first + batch - 1, last)
        with database.transaction() as session:
            written += rewrite_plans(session, policy, first, end)
        progress(end, last)
    with database.transaction() as session:
        session.merge(Setting(key=POLICY_SETTING, value=policy_text(policy)))
    return written
