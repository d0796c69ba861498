"""``followup patient add|list|show|edit``."""

from __future__ import annotations

import sys
from typing import Any

import click

from followup.cli.contact_commands import close, reopen
from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import DATE, F, format_option, output_options

PATIENT_COLUMNS = ("patient_id", "name", "birth_date", "email", "phone", "reminders", "address")


def _details_options(func: F) -> F:
    """The optional details, shared by ``add`` and ``edit``."""
    for option in reversed(
        [
            click.option("--name", metavar="TEXT", help="Her name, as she wants it shown."),
            click.option("--birth-date", type=DATE, metavar="DATE", help="YYYY-MM-DD."),
            click.option(
                "--email",
                metavar="ADDR",
                help="Where reminders are sent: one address, e.g. ana@example.org.",
            ),
            click.option("--phone", metavar="TEXT", help="A phone number, for coordinators."),
            click.option(
                "--address",
                metavar="TEXT",
                help="Her postal address, for letters: one line a line (a line break, or \\n "
                "typed as two characters), at most 5 lines.",
            ),
        ]
    ):
        func = option(func)
    return func


def patient_row(patient: Any) -> dict[str, Any]:
    return {
        "patient_id": patient.external_id,
        "name": patient.name,
        "birth_date": patient.birth_date,
        "email": patient.email,
        "phone": patient.phone,
        "reminders": patient.reminders,
        "address": patient.address,
    }


def typed_lines(text: str | None) -> str | None:
    """An address typed on one line with ``\\n`` (two characters) between its lines, as
    with real line breaks (shells make those awkward to type)."""
    return text.replace("\\n", "\n") if text else text


@click.group()
def patient() -> None:
    """Add, list, show and edit patients; close and reopen their tracking.

    \b
    Examples:
      followup patient add P1 --name "Ana Silva" --email ana@example.org
      followup patient list --format csv
      followup patient edit P1 --no-reminders
    """


@patient.command("add")
@click.argument("patient_id")
@_details_options
@click.option("--no-reminders", is_flag=True, help="Never send her reminders.")
@pass_app
def add(app: AppContext, patient_id: str, no_reminders: bool, **details: Any) -> None:
    """Add a patient with id PATIENT_ID (e.g. P1 or a record number)."""
    from followup.store.patients import PatientDetails, add_patient

    details["address"] = typed_lines(details["address"])
    with app.transaction() as session:
        created = add_patient(
            session,
            patient_id,
            PatientDetails(reminders=not no_reminders, **details),
            today=today(),
        )
        click.echo(f"Added patient {created.external_id}.")


@patient.command("list")
@format_option("table", "json", "csv")
@output_options("the list")
@pass_app
def list_(app: AppContext, fmt: str, output: str | None, force: bool) -> None:
    """List every patient with her contact details and whether reminders are on.

    \b
    Examples:
      followup patient list
      followup patient list --format csv -o patients.csv
    """
    from followup.cli.output import output_stream, write_rows
    from followup.store.patients import list_patients

    with app.transaction(write=False) as session, output_stream(output, force=force) as out:
        write_rows(map(patient_row, list_patients(session)), PATIENT_COLUMNS, fmt, out)


@patient.command("show")
@click.argument("patient_id")
@format_option("table", "json")
@pass_app
def show(app: AppContext, patient_id: str, fmt: str) -> None:
    """Show a patient's details (her exams: `followup exam list`, her plan: `followup status`)."""
    from followup.cli.output import dump_json
    from followup.store.patients import get_patient

    with app.transaction(write=False) as session:
        row = patient_row(get_patient(session, patient_id))
    if fmt == "json":
        dump_json(row, sys.stdout)
        return
    for key, value in row.items():
        shown = "" if value is None else value
        if key == "reminders":
            shown = "on" if value else "off"
        if key == "address" and value:
            shown = value.replace("\n", "\n" + " " * 12)
        click.echo(f"{key.replace('_', ' '):<11} {shown}")


@patient.command("edit")
@click.argument("patient_id")
@_details_options
@click.option("--reminders/--no-reminders", default=None, help="Turn her reminders on or off.")
@pass_app
def edit(app: AppContext, patient_id: str, reminders: bool | None, **details: Any) -> None:
    """Change a patient's details; an empty value (--email "") clears that field.

    Values that are already the stored ones change nothing (exit status 0, "unchanged").
    """
    from followup.cli.changes import nothing_to_change, unchanged
    from followup.store.patients import PatientDetails, edit_patient

    if reminders is None and all(value is None for value in details.values()):
        raise click.UsageError(nothing_to_change("--email ADDR"))
    details["address"] = typed_lines(details["address"])
    with app.transaction() as session:
        changes = edit_patient(
            session, patient_id, PatientDetails(reminders=reminders, **details), today=today()
        )
    if not changes:
        click.echo(unchanged(f"Patient {patient_id}"))
        return
    click.echo(f"Updated patient {patient_id}: {', '.join(sorted(changes))}.")


patient.add_command(close)
patient.add_command(reopen)
