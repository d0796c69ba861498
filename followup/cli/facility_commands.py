"""``followup facility list|show|edit`` and ``followup clinic show|set``: the addresses and
telephone numbers letters print, stored in the database."""

from __future__ import annotations

import sys
from typing import Any

import click

from followup.cli.context import AppContext, pass_app
from followup.cli.params import format_option, output_options
from followup.cli.patient_commands import typed_lines

FACILITY_COLUMNS = ("name", "address", "phone", "exams")
ADDRESS_HELP = (
    "Postal address: one line a line (a line break, or \\n typed as two characters), at most "
    "5 lines; an empty value clears it."
)


def _show(row: dict[str, Any], fmt: str) -> None:
    """One record: JSON, or a field a line (an address's lines under each other)."""
    from followup.cli.output import dump_json

    if fmt == "json":
        dump_json(row, sys.stdout)
        return
    for key, value in row.items():
        shown = "" if value is None else str(value).replace("\n", "\n" + " " * 9)
        click.echo(f"{key:<8} {shown}")


def _said(what: str, changes: dict[str, Any]) -> str:
    from followup.cli.changes import unchanged

    if not changes:
        return unchanged(what[:1].upper() + what[1:])
    return f"Updated {what}: {', '.join(sorted(changes))}."


@click.group()
def facility() -> None:
    """List facilities and set their postal addresses and telephone numbers.

    Result letters print the facility's name, address and telephone number (MQSA); a
    films request is posted to the facility that holds the films.

    \b
    Examples:
      followup facility list
      followup facility edit "Northside Imaging" --phone "+1 555 0100" \\
          --address "12 Main St\\nSpringfield, IL 62701"
      followup facility edit "northside imaging" --rename "Northside Imaging Center"
    """


@facility.command("list")
@format_option("table", "json", "csv")
@output_options("the list")
@pass_app
def list_(app: AppContext, fmt: str, output: str | None, force: bool) -> None:
    """Every facility with its address, telephone number and the exams recorded there.

    \b
    Examples:
      followup facility list
      followup facility list --format csv -o facilities.csv
    """
    from followup.cli.output import output_stream, write_rows
    from followup.store.facilities import list_facilities

    with app.transaction(write=False) as session:
        rows = list_facilities(session)
    with output_stream(output, force=force) as out:
        write_rows(rows, FACILITY_COLUMNS, fmt, out)


@facility.command("show")
@click.argument("name")
@format_option("table", "json")
@pass_app
def show(app: AppContext, name: str, fmt: str) -> None:
    """Show the facility NAME (matched case- and space-insensitively)."""
    from followup.store.exams import known_facility
    from followup.store.facilities import facility_row

    with app.transaction(write=False) as session:
        row = facility_row(known_facility(session, name))
    _show(row, fmt)


@facility.command("edit")
@click.argument("name")
@click.option("--address", metavar="TEXT", help=ADDRESS_HELP)
@click.option("--phone", metavar="TEXT", help="Telephone number; an empty value clears it.")
@click.option(
    "--rename",
    metavar="NEW",
    help="A new name (e.g. to correct its spelling); the plans naming it are rewritten.",
)
@pass_app
def edit(
    app: AppContext, name: str, address: str | None, phone: str | None, rename: str | None
) -> None:
    """Change the facility NAME's address, telephone number or name.

    \b
    Examples:
      followup facility edit "Northside Imaging" --phone "+1 555 0100"
      followup facility edit "Northside Imaging" --address ""     # clear it
    """
    from followup.cli.changes import nothing_to_change
    from followup.store.facilities import PostalDetails, edit_facility

    if address is None and phone is None and rename is None:
        raise click.UsageError(nothing_to_change("--phone TEXT"))
    details = PostalDetails(rename, typed_lines(address), phone)
    with app.transaction() as session:
        shown, changes = edit_facility(session, name, details, app.policy)
    click.echo(_said(f"facility {shown}", changes))


@click.group()
def clinic() -> None:
    """Show or set the clinic that sends the letters: name, return address, telephone.

    \b
    Examples:
      followup clinic show
      followup clinic set --name "Springfield Breast Care" --phone "+1 555 0199" \\
          --address "PO Box 12\\nSpringfield, IL 62701"
    """


@clinic.command("show")
@format_option("table", "json")
@pass_app
def clinic_show(app: AppContext, fmt: str) -> None:
    """Show the clinic's name, return address and telephone number (empty until set)."""
    from followup.store.facilities import clinic_details

    with app.transaction(write=False) as session:
        row = clinic_details(session)
    _show(row, fmt)


@clinic.command("set")
@click.option("--name", metavar="TEXT", help="The clinic's name, as letters sign it.")
@click.option("--address", metavar="TEXT", help=ADDRESS_HELP)
@click.option("--phone", metavar="TEXT", help="Telephone number; an empty value clears it.")
@pass_app
def clinic_set(app: AppContext, name: str | None, address: str | None, phone: str | None) -> None:
    """Set the clinic's name, return address or telephone number (the others are kept).

    \b
    Examples:
      followup clinic set --name "Springfield Breast Care"
      followup clinic set --address "PO Box 12\\nSpringfield, IL 62701"
    """
    from followup.cli.changes import nothing_to_change
    from followup.store.facilities import PostalDetails, set_clinic

    if name is None and address is None and phone is None:
        raise click.UsageError(nothing_to_change("--name TEXT"))
    with app.transaction() as session:
        changes = set_clinic(session, PostalDetails(name, typed_lines(address), phone))
    click.echo(_said("the clinic", changes))
