"""``followup demo``: a synthetic programme in a file of its own, then today's due report."""

from __future__ import annotations

import shlex
import sys
from datetime import date
from pathlib import Path

import click

from followup.cli.context import AppContext, pass_app, today
from followup.cli.params import as_of_option

DEMO_MARK = "demo"


def default_demo_path() -> Path:
    """Beside the real database, never the real database itself."""
    from followup.store.database import default_path

    return default_path().with_name("demo.db")


@click.command()
@click.option(
    "--db",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The demo file (default: demo.db beside the default database).",
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
    command again rebuilds it. A file that is not a demo database is refused.

    \b
    Examples:
      followup demo
      followup demo --db /tmp/demo.db --patients 1000
    """
    from followup.cli.output import write_table
    from followup.cli.report_commands import DUE_HEADERS, DUE_TABLE, marked
    from followup.store.reports import DueQuery, due_rows

    as_of = as_of or today()
    path = (path or default_demo_path()).expanduser()
    demo_app = AppContext(str(path), app.policy_file)
    try:
        _rebuild(demo_app, path, patients, seed, as_of)
        with demo_app.transaction(write=False) as session:
            click.echo(f"Follow-ups due by {as_of.isoformat()} + 30 days, overdue first:\n")
            rows = due_rows(session, DueQuery(as_of), demo_app.policy)
            count = write_table((marked(r) for r in rows), DUE_TABLE, sys.stdout, DUE_HEADERS)
            example = _example_patient(session)
    finally:
        demo_app.close()
    quoted = shlex.quote(str(path))  # the hints are meant to be pasted into a shell
    click.echo(
        f"\n{count} follow-ups due or overdue among {patients} synthetic patients in {path}.\n"
        "Explore further:\n"
        f"  followup --db {quoted} status {example}\n"
        f"  followup --db {quoted} due --overdue --format csv\n"
        f"  followup --db {quoted} flags --code facility-switch\n"
        f"  followup --db {quoted} stats"
    )


def _rebuild(app: AppContext, path: Path, patients: int, seed: int, as_of: date) -> None:
    """A fresh file, loaded in one transaction with the bulk loader (plans included)."""
    _remove_old_demo(path)
    from followup import synthetic
    from followup.store.bulk import BulkLoader, PatientRow
    from followup.store.models import Setting

    with (
        app.transaction() as session,
        click.progressbar(
            length=patients,
            label="Building the demo",
            file=sys.stderr,
            hidden=not sys.stderr.isatty(),
        ) as bar,
    ):
        session.add(Setting(key=DEMO_MARK, value=f"seed={seed} patients={patients}"))
        session.flush()
        with BulkLoader(session, app.policy, today=as_of) as loader:
            for row in synthetic.rows(patients, seed, as_of):
                loader.add(row)
                if isinstance(row, PatientRow):
                    bar.update(1)
            loader.finish()


def _remove_old_demo(path: Path) -> None:
    """Delete the previous demo file, but only if it is one (never a real database)."""
    if not path.exists():
        return
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            marked = conn.execute("SELECT 1 FROM settings WHERE key = ?", (DEMO_MARK,)).fetchone()
    except sqlite3.Error:
        marked = None
    if not marked:
        raise click.ClickException(
            f"{path} exists and is not a followup demo database; give another file with --db"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _example_patient(session) -> str:  # type: ignore[no-untyped-def]
    """A patient worth looking at: one with a probably-benign follow-up if there is one."""
    from sqlalchemy import select

    from followup.store.models import Patient, PlanRecord

    query = (
        select(Patient.external_id)
        .join(PlanRecord, PlanRecord.patient_id == Patient.id)
        .order_by((PlanRecord.action != "short-interval-follow-up"), Patient.external_id)
        .limit(1)
    )
    return session.scalar(query) or "P0000001"
