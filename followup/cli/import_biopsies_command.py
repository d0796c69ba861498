"""``followup import biopsies FILE.csv``: biopsies and their results in, all or nothing."""

from __future__ import annotations

from datetime import date

import click

from followup.cli.context import AppContext, import_day, pass_app
from followup.cli.params import DATE


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back after checking everything."""


@click.command("biopsies")
@click.argument("file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and count everything; write nothing.")
@click.option(
    "--as-of",
    type=DATE,
    metavar="DATE",
    help="Take this day as today: later biopsy dates are refused, as in `biopsy add`.",
)
@pass_app
def import_biopsies(app: AppContext, file: str, dry_run: bool, as_of: date | None) -> None:
    """Import biopsies from FILE.csv, one row per biopsy (UTF-8, with or without BOM).

    Columns (header names as `followup export biopsies` writes them; case, spaces, _ and -
    do not matter; mrn, laterality, concordance, diagnosis read too): patient_id, date, side
    (left/right), result (pending/benign/high-risk/malignant), concordant (true/false, or
    yes/no, concordant/discordant; required with a benign result), facility, pathology, note.

    Every row is checked as `biopsy add` checks its options, and added as it adds one (in the
    audit log). The patient must exist (import her exams first, or `followup patient add`).
    A biopsy already stored (same patient, day and breast) that says the same is skipped and
    counted; one that says otherwise stops the import. One bad row stops everything, naming
    its line, and nothing is written. Plans are recomputed once per patient.

    \b
    Examples:
      followup import biopsies pathology.csv --dry-run
      followup --db other.db import biopsies biopsies.csv   # from `export biopsies`
    """
    from followup.exchange.csv_biopsies import BiopsyRowError, read_biopsies
    from followup.exchange.csv_biopsies import import_biopsies as store_biopsies
    from followup.exchange.csv_columns import MappingError
    from followup.exchange.csv_import import open_csv

    today = import_day(as_of)
    try:
        with app.transaction() as session, open_csv(file) as handle:
            added, known = store_biopsies(
                session, read_biopsies(handle), today=today, policy=app.policy
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        click.echo(f"Dry run: {added:,} biopsies would be added, {known:,} already recorded.")
        return
    except MappingError as exc:
        raise click.UsageError(str(exc)) from None
    except BiopsyRowError as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from None
    click.echo(f"Imported {added:,} biopsies, {known:,} already recorded.")
