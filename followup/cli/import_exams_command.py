"""``followup import exams FILE.csv``: a clinic's CSV export in, all of it or (on request) the
good rows only, in one transaction (:mod:`followup.exchange.csv_pipeline` does the work)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date
from functools import partial
from typing import IO, TYPE_CHECKING

import click

from followup.cli.context import AppContext, import_day, pass_app
from followup.cli.params import DATE, force_option

if TYPE_CHECKING:
    from followup.exchange.csv_columns import Defaults
    from followup.exchange.csv_import import Rejected
    from followup.exchange.csv_pipeline import Chunk, CsvImport, ImportResult, Unreadable


@click.command("exams")
@click.argument("file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--map",
    "overrides",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Read COLUMN into FIELD (repeatable); FIELD 'ignore' leaves a column out. Fields: "
    "patient_id, date, facility, category, laterality, kind, morphology, distribution, "
    "size_class, follow_up_months, finding_id, note, subdivision, imaged, density, "
    "radiologist, name, email, phone, birth_date.",
)
@click.option("--default-date", type=DATE, metavar="DATE", help="Exam date for rows without one.")
@click.option("--default-facility", metavar="NAME", help="Facility for rows without one.")
@click.option("--dry-run", is_flag=True, help="Check and count everything; write nothing.")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the good rows and write the bad ones to --rejects (default: all or nothing).",
)
@click.option(
    "--rejects",
    metavar="FILE",
    help="With --skip-invalid: the rejected rows, their line and reason (CSV, readable by you "
    "only), written once the import is done: a dry run or a failed import leaves none.",
)
@force_option
@click.option(
    "--as-of",
    type=DATE,
    metavar="DATE",
    help="Take this day as today: later exam dates are refused, as in `exam add` (never a "
    "day after today).",
)
@pass_app
def import_exams(
    app: AppContext,
    file: str,
    overrides: tuple[str, ...],
    default_date: date | None,
    default_facility: str | None,
    dry_run: bool,
    skip_invalid: bool,
    rejects: str | None,
    force: bool,
    as_of: date | None,
) -> None:
    """Import exams from FILE.csv, one finding per row (UTF-8, with or without BOM).

    Columns are recognised by their usual names (patient_id/mrn, date/exam_date, facility/site,
    category/birads/assessment (4A/4B/4C kept), subdivision, laterality/side, kind,
    morphology/calc type, distribution/calc distribution, follow_up_months,
    finding_id/abnormality id, note, imaged (both/left/right, default both), density/breast
    density (a-d, or 1-4), radiologist, name, email, phone, birth_date); --map names the
    others. Every row is checked as `exam add` checks its options; unknown patients and
    facilities are created. An exam is one patient's exam of one day, facility and kind: one
    already stored that says the same (findings, interval, note, breasts imaged, density,
    radiologist) is skipped and counted as a duplicate, while one that says otherwise stops
    the import. Cells an export prefixed with a quote against spreadsheet formulas ('=1+1)
    are read as they were (=1+1), so an export imports back as it is.

    Rows with the same patient, date and facility make one exam with several findings (a row
    of another kind starts another exam: a screening and a diagnostic exam of one day are
    two); they must be adjacent, as exports write them. Identical findings, and rows with the same
    finding_id and side (e.g. the CC and MLO views of one finding), count once; when such views
    disagree, the most worrisome reading is kept.

    By default one bad row stops the import, naming its line, and nothing is written. With
    --skip-invalid the good rows are imported and the bad ones written to --rejects; the exit
    status is then 0, and the summary (on stderr) counts the rejected rows.

    \b
    Examples:
      followup import exams ris-export.csv --dry-run
      followup import exams ris-export.csv --skip-invalid --rejects rejects.csv
      followup import exams export.csv --map MRN=patient_id --map "Exam Site=facility"
      followup import exams calc_case_description_test_set.csv \\
          --default-date 2016-01-15 --default-facility "CBIS-DDSM"
    """
    if skip_invalid != (rejects is not None):
        raise click.UsageError("--skip-invalid and --rejects FILE go together; give both")
    from followup.exchange import csv_columns

    if default_facility is not None and not default_facility.strip():
        raise click.BadParameter("give the facility's name", param_hint="--default-facility")
    day = import_day(as_of)
    if default_date is not None:
        from followup.rules import check_exam_date

        try:
            check_exam_date(default_date, day)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--default-date") from None
    from followup.cli.output import output_file
    from followup.exchange.csv_pipeline import RowRefused, Unreadable

    defaults = csv_columns.Defaults(date=default_date, facility=default_facility)
    if dry_run:
        app.open(create=False)  # a dry run only reads: it never creates a database
    with ExitStack() as stack:
        # Entered first, left last: renamed into place only once the import has committed.
        kept = (
            stack.enter_context(output_file(rejects, force=force, reads=[file]))
            if rejects
            else None
        )
        job = stack.enter_context(_opened(file, overrides, defaults, day))
        rejected = _rejects_writer(kept.stream, job.columns.header) if kept else None
        try:
            result = job.run(
                app,
                dry_run=dry_run,
                rejected=rejected,
                before_commit=kept.prepare if kept else None,  # a full disk stops both
                progress=partial(_with_progress, file),
            )
        except RowRefused as exc:
            raise click.ClickException(
                f"line {exc.line}: {exc.reason}; nothing was imported. Fix the row or use "
                "--skip-invalid --rejects FILE"
            ) from None
        except Unreadable as exc:
            raise _unreadable(exc) from None
        if dry_run and kept is not None:
            kept.discard()
    _summary(result, rejects)


def _opened(file: str, overrides: tuple[str, ...], defaults: Defaults, day: date) -> CsvImport:
    """The import of FILE, its header mapped; the columns left out are shown."""
    from followup.exchange.csv_columns import MappingError
    from followup.exchange.csv_pipeline import CsvImport, EmptyFile, Unreadable

    try:
        job = CsvImport(file, overrides, defaults, today=day)
    except EmptyFile:
        raise click.ClickException(f"{file} is empty; a header row is needed") from None
    except Unreadable as exc:
        raise _unreadable(exc) from None
    except MappingError as exc:
        raise click.UsageError(str(exc)) from None
    if job.columns.ignored:
        from followup.cli.errors import printable

        click.echo(f"Columns not imported: {printable(', '.join(job.columns.ignored))}", err=True)
    return job


def _rejects_writer(out: IO[str], header: tuple[str, ...]) -> Callable[[Rejected], None]:
    """Writes each rejected row to a CSV (0600: they hold health data), spreadsheet-safe,
    with its line and reason."""
    from followup.exchange.spreadsheet import csv_writer, neutralise, restore

    writer = csv_writer(out)
    writer.writerow([*header, "line", "reason"])

    def write(item: Rejected) -> None:
        # Each cell as the import read it (an export's '=x is =x), made safe again: the
        # rejects file, once corrected, imports back to the same values.
        writer.writerow([*(neutralise(restore(c)) for c in item.cells), item.line, item.reason])

    return write


def _with_progress(file: str, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """A progress bar by bytes read, on stderr, when stderr is a terminal and FILE a file."""
    return _advancing(file, chunks) if sys.stderr.isatty() and os.path.isfile(file) else chunks


def _advancing(file: str, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    size = os.path.getsize(file)
    with click.progressbar(length=size, label="Importing", file=sys.stderr) as bar:
        done = 0
        for chunk in chunks:
            bar.update(chunk.position - done)
            done = chunk.position
            yield chunk
        bar.update(size - done)
    click.echo("Writing the plans of the patients imported...", err=True)


def _unreadable(exc: Unreadable) -> click.ClickException:
    """The file stops being CSV text; text is decoded in blocks, so the line is approximate."""
    line = exc.line
    if exc.not_utf8:
        return click.ClickException(
            f"the file is not UTF-8 text (near line {line}); nothing was imported. Save it as "
            '"CSV UTF-8" and import it again'
        )
    return click.ClickException(
        f"line {line}: the file cannot be read as CSV ({exc.detail}); nothing was imported"
    )


def _summary(result: ImportResult, rejects: str | None) -> None:
    loaded, rows, rejected = result.loaded, result.rows, result.rejected
    verb = "would import" if result.dry_run else "imported"
    click.echo(
        ("Dry run, nothing written: " if result.dry_run else "")
        + f"read {rows:,} rows; {verb} {loaded.exams_added:,} exams with "
        f"{loaded.findings_added:,} findings ({loaded.patients_added:,} new patients, "
        f"{loaded.facilities_added:,} new facilities); {loaded.exams_duplicate:,} duplicate "
        f"exams skipped; {rejected:,} rows rejected"
        + (f" (written to {rejects})" if rejects and rejected else "")
        + ".",
        err=True,
    )
