"""``followup import fhir FILE.json``: a FHIR Bundle's patients, exams and biopsies, all or
nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from followup.cli.context import AppContext, import_day, pass_app
from followup.cli.errors import printable
from followup.cli.params import DATE
from followup.exchange.fhir_codes import PATIENT_ID_SYSTEM

if TYPE_CHECKING:
    from followup.exchange.fhir_import import ImportSummary


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
@click.option(
    "--patient-identifier-system",
    metavar="URI",
    help="The Patient identifier system that holds the patient id, for bundles of other "
    f"producers (default: {PATIENT_ID_SYSTEM}, or the one system a Patient's identifiers "
    "have), e.g. a hospital's MRN system.",
)
@click.option(
    "--patient-id",
    metavar="ID",
    help="Store the bundle's one patient under this id (for a Patient with no usable "
    "identifier, as in the HL7 Breast Radiology IG's examples).",
)
@click.option(
    "--default-date",
    type=DATE,
    metavar="DATE",
    help="Exam date for a DiagnosticReport that gives none (no effectiveDateTime).",
)
@click.option(
    "--default-facility",
    metavar="NAME",
    help="Facility for a DiagnosticReport that names none (no performer or encounter location).",
)
@pass_app
def import_fhir(
    app: AppContext,
    file: str,
    as_of: date | None,
    patient_identifier_system: str | None,
    patient_id: str | None,
    default_date: date | None,
    default_facility: str | None,
) -> None:
    """Import patients and their exams from a FHIR R4 Bundle (as `export fhir` writes, or
    another producer's).

    Exams are read from Procedures with their Observations (as followup writes them) and
    from DiagnosticReports with a BI-RADS assessment in conclusionCode (as the HL7 Breast
    Radiology IG writes a report; both spellings of its BiRadsAssessmentCategoryCS system are
    read). A bundle may hold several patients; each exam belongs to the Patient its subject
    names. Biopsies are read from our biopsy Procedures with their pathology
    DiagnosticReports (result, concordance, pathology text), film transfers with their dates.
    What the bundle holds that is not read is listed on stderr with the reason.

    A new patient is created. An existing one must have the same details as the bundle
    (otherwise nothing is imported and the differing fields are named). An exam is one
    patient's exam of one day, facility and kind: one already stored that says the same is
    skipped; one that says otherwise is refused (a biopsy likewise, by day and breast). All
    or nothing; plans are recomputed under this database's policy.

    \b
    Examples:
      followup import fhir P1.fhir.json
      followup export fhir P1 | followup --db other.db import fhir /dev/stdin
      followup import fhir report.json --patient-identifier-system urn:oid:1.2.3.4
      followup import fhir example-Bundle-SimpleNarrativeOnlyReport.json \\
          --patient-id P9 --default-date 2020-03-29 --default-facility "Main Street Imaging"
    """
    from followup.exchange.fhir_import import import_bundle
    from followup.exchange.fhir_read import ReadOptions

    day = import_day(as_of)
    options = ReadOptions(patient_identifier_system, patient_id, default_date, default_facility)
    bundle = _read_json(file)
    with app.transaction() as session:
        summary = import_bundle(session, bundle, today=day, policy=app.policy, options=options)
    for line in summary.not_read:
        click.echo(f"Skipped: {printable(line)}", err=True)
    click.echo(_summary_line(summary))


def _summary_line(summary: ImportSummary) -> str:
    counts = (
        f"{summary.total('added'):,} exams added, {summary.total('skipped'):,} already "
        f"recorded, {summary.total('transfers'):,} film transfers recorded"
    )
    biopsies, known = summary.total("biopsies"), summary.total("biopsies_skipped")
    if biopsies or known:
        counts += f", {biopsies:,} biopsies added, {known:,} already recorded"
    counts += "."
    if len(summary.patients) == 1:
        (patient,) = summary.patients
        state = "new patient" if patient.created else "existing patient"
        return f"Imported {printable(patient.patient_id)} ({state}): {counts}"
    new = sum(p.created for p in summary.patients)
    return (
        f"Imported {len(summary.patients):,} patients ({new:,} new, "
        f"{len(summary.patients) - new:,} existing): {counts}"
    )
