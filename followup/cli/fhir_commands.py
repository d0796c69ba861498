"""``followup import fhir FILE.json``: a patient's FHIR Bundle in, all of it or nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import click

from followup.cli.context import AppContext, import_day, pass_app
from followup.cli.params import DATE


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{path} is not JSON ({exc}); give a FHIR Bundle") from None
    except RecursionError:
        raise click.ClickException(
            f"{path} is nested too deeply to be a FHIR Bundle; nothing was imported"
        ) from None


@click.command("fhir")
@click.argument("file", metavar="FILE.json", type=click.Path(dir_okay=False))
@click.option(
    "--as-of",
    type=DATE,
    metavar="DATE",
    help="Refuse exams dated after this day (YYYY-MM-DD); default: today.",
)
@pass_app
def import_fhir(app: AppContext, file: str, as_of: date | None) -> None:
    """Import one patient and her exams from a FHIR R4 Bundle (as `export fhir` writes).

    A new patient is created. An existing one must have the same details as the bundle
    (otherwise nothing is imported and the differing fields are named). Exams already stored
    with the same content are skipped; one stored on the same date and facility with other
    content is refused. All or nothing; her plan is recomputed under this database's policy.

    \b
    Examples:
      followup import fhir P1.fhir.json
      followup export fhir P1 | followup --db other.db import fhir /dev/stdin
    """
    from followup.exchange.fhir import import_bundle

    day = import_day(as_of)
    bundle = _read_json(file)
    with app.transaction() as session:
        summary = import_bundle(session, bundle, today=day, policy=app.policy)
    state = "new patient" if summary.created else "existing patient"
    click.echo(
        f"Imported {summary.patient_id} ({state}): {summary.added} exams added, "
        f"{summary.skipped} already recorded, {summary.transfers} film transfers recorded."
    )
