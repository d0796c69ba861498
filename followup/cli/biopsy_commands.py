"""``followup biopsy add|list|edit|delete``: biopsies and their pathology results."""

from __future__ import annotations

import sys
from typing import Any

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.exam_commands import nothing_to_change, unchanged
from followup.cli.params import BIOPSY_RESULT, BIOPSY_SIDE, DATE, format_option

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


def biopsy_row(row: Any) -> dict[str, Any]:
    """One stored biopsy as `biopsy list` shows it (BIOPSY_COLUMNS)."""
    return {
        "id": row.id,
        "date": row.date,
        "side": row.side,
        "result": row.result,
        "concordant": row.concordant,
        "facility": row.facility.name if row.facility else None,
        "pathology": row.pathology,
        "note": row.note,
    }


def _concordance_option(func):  # type: ignore[no-untyped-def]
    return click.option(
        "--concordant/--discordant",
        "concordant",
        default=None,
        help="Whether the pathology agrees with the imaging (radiology-pathology "
        "correlation); required with a benign result.",
    )(func)


def _echo_plan(session: Any, patient_id: int) -> None:
    from followup.cli.exam_commands import echo_plan
    from followup.store.plans import stored_plan

    echo_plan(stored_plan(session, patient_id))


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
@click.option("--date", "day", type=DATE, required=True, metavar="DATE", help="Biopsy date.")
@click.option("--side", type=BIOPSY_SIDE, required=True, metavar="left|right", help="Breast.")
@click.option(
    "--result",
    type=BIOPSY_RESULT,
    required=True,
    metavar="pending|benign|high-risk|malignant",
    help="The pathology result; pending until it comes.",
)
@_concordance_option
@click.option("--facility", metavar="NAME", help="Where it was done.")
@click.option("--pathology", metavar="TEXT", help='The diagnosis, e.g. "fibroadenoma", "ADH".')
@click.option("--note", metavar="TEXT", help="Free text.")
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
        _echo_plan(session, row.patient_id)


@biopsy.command("list")
@click.argument("patient_id")
@format_option("table", "json", "csv")
@pass_app
def list_(app: AppContext, patient_id: str, fmt: str) -> None:
    """List a patient's biopsies, oldest first."""
    from followup.cli.output import write_rows
    from followup.store.biopsies import list_biopsies

    with app.transaction(write=False) as session:
        rows = [biopsy_row(b) for b in list_biopsies(session, patient_id)]
    write_rows(rows, BIOPSY_COLUMNS, fmt, sys.stdout)


@biopsy.command("edit")
@click.argument("biopsy_id", type=int)
@click.option("--date", "day", type=DATE, metavar="DATE", help="New date.")
@click.option("--side", type=BIOPSY_SIDE, metavar="left|right", help="New side.")
@click.option(
    "--result",
    type=BIOPSY_RESULT,
    metavar="pending|benign|high-risk|malignant",
    help="The result (e.g. once the pathology report of a pending biopsy comes).",
)
@_concordance_option
@click.option("--facility", metavar="NAME", help='New facility ("" removes it).')
@click.option("--pathology", metavar="TEXT", help='New pathology text ("" removes it).')
@click.option("--note", metavar="TEXT", help='New note ("" removes it).')
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
        if row is None:
            click.echo(unchanged(f"Biopsy {biopsy_id}"))
            return
        click.echo(f"Updated biopsy {biopsy_id}.")
        _echo_plan(session, row.patient_id)


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
        if not yes and sys.stdin.isatty():
            click.confirm(f"Delete {label}?", abort=True)
        delete_biopsy(session, biopsy_id, policy=app.policy)
    click.echo(f"Deleted {label}.")
