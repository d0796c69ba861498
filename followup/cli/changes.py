"""What the commands that record, correct and delete a patient's records (exams, biopsies,
her details) say: the plan after the change, an edit given nothing to do, an edit that
changes nothing, and the question before a deletion. One wording for every kind of record."""

from __future__ import annotations

import sys
from typing import Any

import click


def nothing_to_change(example: str) -> str:
    """The answer of an edit given no option at all (a usage error)."""
    return f"nothing to change; give at least one option, e.g. {example}"


def unchanged(what: str) -> str:
    """The answer of an edit whose values are all the stored ones: nothing to do, success."""
    return f"{what} unchanged: every value given is the one already stored."


def confirm_delete(label: str, yes: bool) -> None:
    """Ask before deleting ``label``, at a terminal only: a script passes --yes, or has no
    terminal to answer from."""
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete {label}?", abort=True)


def echo_plan(plan: Any) -> None:
    """The patient's next step (and the other breast's) after a change, so the person at
    the terminal sees at once what the record did to her plan."""
    if plan is None or plan.action is None:
        return
    click.echo(f"Next: {_step_text(plan)}.")
    for other in plan.also:
        click.echo(f"Also ({other.side.value} breast): {_step_text(other)}.")


def echo_stored_plan(session: Any, patient_pk: int) -> None:
    """:func:`echo_plan` of the patient's plan as just stored in this transaction."""
    from followup.store.plans import stored_plan

    echo_plan(stored_plan(session, patient_pk))


def echo_edited(session: Any, row: Any, what: str) -> None:
    """What an edit of ``what`` ("exam 4") did: nothing (every value given was the stored
    one), or the update and her next step."""
    if row is None:
        click.echo(unchanged(what.capitalize()))
        return
    click.echo(f"Updated {what}.")
    echo_stored_plan(session, row.patient_id)


def _step_text(step: Any) -> str:
    due = step.due.isoformat() if step.due else "no date"
    side = f" ({step.laterality.value})" if step.laterality else ""
    return f"{step.action}{side}, due {due}: {step.reason}"
