"""``followup demo``: a synthetic programme in a file of its own, then today's due report."""

from __future__ import annotations

import shlex
import sys
from datetime import date
from pathlib import Path

import click

from followup.cli.context import AppContext, import_day, pass_app
from followup.cli.params import as_of_option

EARLIEST_DEMO = date(1910, 1, 1)
# Patients enough for a year's audit to rest on some twenty cancers (5 per 1,000 screens).
AUDIT_PATIENTS = 5000


def default_demo_path() -> Path:
    """Beside the real database, never the real database itself."""
    from followup.store.database import default_path

    return default_path().with_name("demo.db")


@click.command()
@click.option(
    "--db",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The demo file (default: demo.db beside the default database). `followup --db FILE "
    "demo` works too; $FOLLOWUP_DB is not used, so the demo never lands on your records.",
)
@click.option(
    "--patients",
    type=click.IntRange(1, 100_000),
    default=300,
    show_default=True,
    help="How many synthetic patients.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same programme.")
@as_of_option
@pass_app
def demo(app: AppContext, path: Path | None, patients: int, seed: int, as_of: date | None) -> None:
    """Create (or refresh) a demo programme of synthetic patients, then show today's due report.

    The demo lives in its own SQLite file, so it never touches your records; running the
    command again rebuilds it (a new file, put in place once complete). A file that is not a
    demo database is refused. Its coordinators have been at work: some overdue patients were
    called, some scheduled, a few closed. The letters due today are produced, as a real
    `followup letters` run would, into DEMO-letters.pdf beside the demo file (replaced with
    the demo).

    \b
    Examples:
      followup demo
      followup demo --db /tmp/demo.db --patients 1000
      followup --db /tmp/demo.db demo
    """
    from followup.cli.letter_commands import produce
    from followup.present.report_tables import DUE_HEADERS, DUE_TABLE, DUE_WIDTHS, marked
    from followup.present.tables import write_table
    from followup.store.demo import biopsied_patient, example_patient, pathway_counts
    from followup.store.reports import DueQuery, due_rows

    as_of = import_day(as_of, earliest=EARLIEST_DEMO)  # its exams go back 8 years, to 1900
    path = _demo_path(app, path)
    _rebuild(app, path, patients, seed, as_of)
    letters_pdf = letters_path(path)
    demo_app = AppContext(str(path))
    try:
        with demo_app.transaction(write=False, plans=True) as session:
            click.echo(f"Follow-ups due by {as_of.isoformat()} + 30 days, overdue first:\n")
            rows = due_rows(session, DueQuery(as_of), demo_app.policy)
            count = write_table(
                (marked(r) for r in rows), DUE_TABLE, sys.stdout, DUE_HEADERS, widths=DUE_WIDTHS
            )
            example = example_patient(session) or "P0000001"
            biopsied = biopsied_patient(session) or "P0000001"
            start, end = audit_year(as_of, demo_app.policy.outcome_days)
            pathway = pathway_counts(session, as_of)
        _letters_history(demo_app, as_of, letters_pdf.parent)
        run = produce(demo_app, as_of, str(letters_pdf), force=True)
    finally:
        demo_app.close()
    quoted = shlex.quote(str(path))  # the hints are meant to be pasted into a shell
    few = (
        f"\n      ({patients} patients have too few cancers for the audit's rates to mean much:"
        f" try `followup demo --patients {AUDIT_PATIENTS}`)"
        if patients < AUDIT_PATIENTS
        else ""
    )
    letters = (
        f"{run.produced} letters due today written to {letters_pdf} ({run.pages} pages); "
        f"{len(run.lacking)} not produced (lacking an address)"
        if run.produced
        else "No letter is due today."
    )
    click.echo(
        f"\n{count} follow-ups due or overdue among {patients} synthetic patients in {path}.\n"
        f"Pathway: {pathway.called} patients called, {pathway.scheduled} scheduled, "
        f"{pathway.closed} closed.\n"
        f"{letters}.\n"
        "Explore further:\n"
        f"  followup --db {quoted} status {example}\n"
        f"  followup --db {quoted} status {biopsied}    # her biopsy and its result\n"
        f"  followup --db {quoted} due --overdue --format csv\n"
        f"  followup --db {quoted} due --to-call    # who to call, and not called lately\n"
        f"  followup --db {quoted} flags --code facility-switch\n"
        f"  followup --db {quoted} letters --dry-run --closed\n"
        f"  followup --db {quoted} stats\n"
        f"  followup --db {quoted} audit --from {start} --to {end}"
        f"    # the outcomes audit: recall, cancer detection, PPV{few}"
    )


def audit_year(as_of: date, outcome_days: int) -> tuple[date, date]:
    """The latest year of exams whose outcome windows have all ended by ``as_of``: the
    period an annual audit reads in full."""
    from followup.rules.dates import add_days, add_months

    end = add_days(as_of, -outcome_days)
    return add_days(add_months(end, -12), 1), end


HISTORY_WEEKS = 9  # the demo's clinic has run `followup letters` weekly for as long


def _letters_history(app: AppContext, as_of: date, folder: Path) -> None:
    """The weekly `letters` runs of the weeks before ``as_of``, recorded as real runs are
    (their PDFs were printed long ago: discarded), so today's run holds what a clinic's
    does: this week's results and reminders, and overdue letters of every step."""
    import tempfile
    from datetime import timedelta

    from followup.cli.letter_commands import produce

    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        for weeks in range(HISTORY_WEEKS, 0, -1):
            day = as_of - timedelta(weeks=weeks)
            produce(app, day, str(Path(scratch) / f"{day.isoformat()}.pdf"))


def letters_path(demo: Path) -> Path:
    """Where the demo's letters go: beside the demo file, named after it."""
    return demo.with_name(f"{demo.stem}-letters.pdf")


def _demo_path(app: AppContext, option: Path | None) -> Path:
    """The demo's file: ``demo --db``, else a ``--db`` given before the command (not
    $FOLLOWUP_DB, which names the real records), else demo.db beside the default database."""
    context = click.get_current_context().find_root()
    given = context.get_parameter_source("db") == click.core.ParameterSource.COMMANDLINE
    if given and app.db_option:
        from followup.store.database import resolve_url, sqlite_file

        file = sqlite_file(resolve_url(app.db_option))
        if file is None:
            raise click.UsageError("the demo lives in a SQLite file; give a file path with --db")
        if option is not None and option.expanduser().resolve() != file:
            raise click.UsageError(
                f"--db is given twice ({app.db_option} and {option}); give the demo file once"
            )
        return file
    if option is not None:
        return option.expanduser()
    default = default_demo_path()
    default.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # as for the real database
    return default


def _rebuild(app: AppContext, path: Path, patients: int, seed: int, as_of: date) -> None:
    """A fresh file, loaded in one transaction with the bulk loader (plans included), built
    beside ``path`` and renamed over it once complete: an interrupted rebuild leaves the old
    demo (or nothing), never half a programme."""
    from followup.files import SQLITE_SIDECARS, staged_file

    existed = _check_old_demo(path)
    with staged_file(path, force=existed) as staged:
        demo_app = AppContext(str(staged.path))
        try:
            _load(demo_app, patients, seed, as_of)
        finally:
            demo_app.close()  # the last connection folds the WAL back into the file
        for suffix in SQLITE_SIDECARS:  # the old demo's: they must not meet the new file
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _load(app: AppContext, patients: int, seed: int, as_of: date) -> None:
    from followup import synthetic
    from followup.store.bulk import BulkLoader
    from followup.store.bulk_rows import PatientRow
    from followup.store.demo import add_pathway, furnish, mark_demo

    with (
        app.transaction() as session,
        click.progressbar(
            length=patients,
            label="Building the demo",
            file=sys.stderr,
            hidden=not sys.stderr.isatty(),
        ) as bar,
    ):
        mark_demo(session, f"seed={seed} patients={patients}")
        with BulkLoader(session, app.policy, today=as_of) as loader:
            for row in synthetic.rows(patients, seed, as_of):
                loader.add(row)
                if isinstance(row, PatientRow):
                    bar.update(1)
            loader.finish()
        add_pathway(session, seed, as_of)
        furnish(session, app.policy)


def _check_old_demo(path: Path) -> bool:
    """Whether a previous demo is there to replace; a file that is not one (a real database)
    is refused."""
    if not path.is_file() or path.is_symlink():
        return False  # the writer refuses links and folders with its own message
    from followup.store.demo import is_demo_file

    if not is_demo_file(path):
        raise click.ClickException(
            f"{path} exists and is not a followup demo database; give another file with --db"
        )
    return True
