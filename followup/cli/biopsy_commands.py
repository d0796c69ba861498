"""``followup biopsy add|list|edit|delete``: biopsies and their pathology results."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from followup.cli.changes import confirm_delete, echo_edited, echo_stored_plan, nothing_to_change
from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import BIOPSY_RESULT, BIOPSY_SIDE, DATE, F, format_option

# The columns of `biopsy list`: the stored record as the audit log keeps it (biopsy_snapshot).
BIOPSY_COLUMNS = (
    "id",
    "date",
    "side",
    "result",
    "concordant",
    "facility",
    "pathology",
    "note",
)


def _biopsy_options(editing: bool) -> Callable[[F], F]:
    """The fields of a biopsy, for `biopsy add` (date, side and result required) and
    `biopsy edit` (each optional; "" removes a text)."""
    removes = ' ("" removes it)' if editing else ""
    result_help = (
        "The result (e.g. once the pathology report of a pending biopsy comes)."
        if editing
        else "The pathology result; pending until it comes."
    )

    def decorate(func: F) -> F:
        options = [
            click.option(
                "--date",
                "day",
                type=DATE,
                required=not editing,
                metavar="DATE",
                help="New date." if editing else "Biopsy date.",
            ),
            click.option(
                "--side",
                type=BIOPSY_SIDE,
                required=not editing,
                metavar="left|right",
                help="New side." if editing else "Breast.",
            ),
            click.option(
                "--result",
                type=BIOPSY_RESULT,
                required=not editing,
                metavar="pending|benign|high-risk|malignant",
                help=result_help,
            ),
            click.option(
                "--concordant/--discordant",
                "concordant",
                default=None,
                help="Whether the pathology agrees with the imaging (radiology-pathology "
                "correlation); required with a benign result.",
            ),
            click.option(
                "--facility",
                metavar="NAME",
                help=f"New facility{removes}." if editing else "Where it was done.",
            ),
            click.option(
                "--pathology",
                metavar="TEXT",
                help=f"New pathology text{removes}."
                if editing
                else 'The diagnosis, e.g. "fibroadenoma", "ADH".',
            ),
            click.option(
                "--note", metavar="TEXT", help=f"New note{removes}." if editing else "Free text."
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@click.group()
def biopsy() -> None:
    """Record biopsies and their pathology results (clinical-rules.md §4).

    A biopsy recommendation (suspicious or highly suspicious finding) stays open until a
    biopsy of that breast is recorded. A pending result is expected within 10 days; a benign
    result must say whether it is concordant with the imaging; a discordant benign result
    or a high-risk lesion goes to surgical consultation; a malignant one to treatment.

    \b
    Examples:
      followup biopsy add P1 --date 2025-02-03 --side left --result pending
      followup biopsy edit 1 --result benign --concordant --pathology fibroadenoma
      followup biopsy add P2 --date 2025-03-01 --side right --result high-risk \\
          --pathology ADH --facility "Northside Imaging"
      followup biopsy list P1
      followup biopsy delete 1
    """


@biopsy.command("add")
@click.argument("patient_id")
@_biopsy_options(editing=False)
@pass_app
def add(
    app: AppContext,
    patient_id: str,
    day: Any,
    side: Any,
    result: Any,
    concordant: bool | None,
    facility: str | None,
    pathology: str | None,
    note: str | None,
) -> None:
    """Record a biopsy of PATIENT_ID and show her next step."""
    from followup.rules import Biopsy
    from followup.store.biopsies import add_biopsy

    record = Biopsy(day, side, result, concordant, facility, pathology)
    with app.transaction() as session:
        row = add_biopsy(session, patient_id, record, note=note, today=today(), policy=app.policy)
        click.echo(f"Recorded biopsy {row.id} for patient {patient_id}.")
        echo_stored_plan(session, row.patient_id)


@biopsy.command("list")
@click.argument("patient_id")
@format_option("table", "json", "csv")
@pass_app
def list_(app: AppContext, patient_id: str, fmt: str) -> None:
    """List a patient's biopsies, oldest first."""
    from followup.cli.output import write_rows
    from followup.store.biopsies import biopsy_snapshot, list_biopsies

    with app.transaction(write=False) as session:
        rows = [biopsy_snapshot(b) for b in list_biopsies(session, patient_id)]
    write_rows(rows, BIOPSY_COLUMNS, fmt, sys.stdout)


@biopsy.command("edit")
@click.argument("biopsy_id", type=int)
@_biopsy_options(editing=True)
@pass_app
def edit(
    app: AppContext,
    biopsy_id: int,
    day: Any,
    side: Any,
    result: Any,
    concordant: bool | None,
    facility: str | None,
    pathology: str | None,
    note: str | None,
) -> None:
    """Correct a biopsy, or record its result; the change is kept in the audit log."""
    from followup.store.biopsies import BiopsyChanges, edit_biopsy

    given = (day, side, result, concordant, facility, pathology, note)
    if all(value is None for value in given):
        raise click.UsageError(nothing_to_change("--result benign --concordant"))
    changes = BiopsyChanges(day, side, result, concordant, facility, pathology, note)
    with app.transaction() as session:
        row = edit_biopsy(session, biopsy_id, changes, today=today(), policy=app.policy)
        echo_edited(session, row, f"biopsy {biopsy_id}")


@biopsy.command("delete")
@click.argument("biopsy_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def delete(app: AppContext, biopsy_id: int, yes: bool) -> None:
    """Delete a biopsy recorded by mistake; what it said is kept in the audit log."""
    from followup.store.biopsies import delete_biopsy, get_biopsy

    with app.transaction() as session:
        row = get_biopsy(session, biopsy_id)
        label = f"biopsy {biopsy_id} ({row.date.isoformat()}, {row.side} breast)"
        confirm_delete(label, yes)
        delete_biopsy(session, biopsy_id, policy=app.policy)
    click.echo(f"Deleted {label}.")
