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
    """Show or set the clinic that sends the letters: name, return address, telephone, the
    breast density statements of its result letters, its paper.

    \b
    Examples:
      followup clinic show
      followup clinic set --name "Springfield Breast Care" --phone "+1 555 0199" \\
          --address "PO Box 12\\nSpringfield, IL 62701"
      followup clinic set --density-statements density.toml --paper a4
    """


@clinic.command("show")
@format_option("table", "json")
@pass_app
def clinic_show(app: AppContext, fmt: str) -> None:
    """Show the clinic's name, return address and telephone number (empty until set)."""
    from followup.store.facilities import clinic_details, letter_options

    with app.transaction(write=False) as session:
        row = {**clinic_details(session), **letter_options(session)}
    _show(row, fmt)


@clinic.command("set")
@click.option("--name", metavar="TEXT", help="The clinic's name, as letters sign it.")
@click.option("--address", metavar="TEXT", help=ADDRESS_HELP)
@click.option("--phone", metavar="TEXT", help="Telephone number; an empty value clears it.")
@click.option(
    "--density-statements",
    "statements_file",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="A TOML file with the result letters' breast density statements, not_dense = "
    '"..." and dense = "..." (each one paragraph), in place of the federal wording.',
)
@click.option(
    "--federal-density",
    is_flag=True,
    help="Go back to the federal wording of 21 CFR 900.12(c)(2)(iii) and (iv).",
)
@click.option(
    "--paper",
    type=click.Choice(["letter", "a4"], case_sensitive=False),
    help="US Letter (#10 window envelope) or A4 (DIN 5008 window envelope).",
)
@pass_app
def clinic_set(
    app: AppContext,
    name: str | None,
    address: str | None,
    phone: str | None,
    statements_file: str | None,
    federal_density: bool,
    paper: str | None,
) -> None:
    """Set the clinic's name, return address, telephone number, density statements or
    paper (what is not given is kept).

    Result letters state the breast density, when it is recorded, in the federal wording
    of 21 CFR 900.12(c)(2)(iii) (not dense) and (iv) (dense), which facilities in the US
    must use. A clinic elsewhere, or one that must add a state's wording, gives its own
    two statements in a TOML file:

    \b
        not_dense = "Your breast tissue is not dense. ..."
        dense = "Your breast tissue is dense. ..."

    \b
    Examples:
      followup clinic set --name "Springfield Breast Care"
      followup clinic set --address "PO Box 12\\nSpringfield, IL 62701"
      followup clinic set --density-statements density.toml
      followup clinic set --federal-density --paper letter
    """
    from followup.cli.changes import nothing_to_change
    from followup.store.facilities import PostalDetails, set_clinic, set_letter_options

    given = (name, address, phone, statements_file, paper)
    if all(value is None for value in given) and not federal_density:
        raise click.UsageError(nothing_to_change("--name TEXT"))
    if statements_file is not None and federal_density:
        raise click.UsageError("give --density-statements FILE or --federal-density, not both")
    statements = None if statements_file is None else _statements(statements_file)
    with app.transaction() as session:
        changes = {}
        if name is not None or address is not None or phone is not None:
            changes = set_clinic(session, PostalDetails(name, typed_lines(address), phone))
        if statements is not None or federal_density or paper is not None:
            changes |= set_letter_options(session, statements, federal=federal_density, paper=paper)
    click.echo(_said("the clinic", changes))


def _statements(path: str) -> tuple[str, str]:
    """(not dense, dense) from the TOML file; a one-line error says what is wrong with it."""
    import tomllib

    try:
        with open(path, "rb") as file:
            table = tomllib.loads(file.read(65_536).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"cannot read the density statements in {path}: {exc}") from None
    found = [table.get(key) for key in ("not_dense", "dense")]
    extra = sorted(set(table) - {"not_dense", "dense"})
    not_dense, dense = (text if isinstance(text, str) and text.strip() else None for text in found)
    if extra or not_dense is None or dense is None:
        raise click.ClickException(
            f'{path} must hold exactly two texts, not_dense = "..." and dense = "..."'
            + (f" (unknown: {', '.join(extra)})" if extra else "")
        )
    return not_dense, dense
