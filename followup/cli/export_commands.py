"""``followup export exams|plans|biopsies|fhir``: records out, as spreadsheet-safe CSV, JSON
or FHIR."""

from __future__ import annotations

import click

from followup.cli.context import AppContext, pass_app
from followup.cli.params import format_option, output_options


@click.group()
def export() -> None:
    """Export the records: every exam, plan or biopsy as CSV/JSON, or one patient as FHIR.

    \b
    Examples:
      followup export exams --format csv -o exams.csv
      followup export biopsies --format csv -o biopsies.csv
      followup export plans --format json > plans.json
      followup export fhir P1 -o P1.fhir.json
    """


@export.command("exams")
@format_option("csv", "json")
@output_options("the export")
@pass_app
def exams(app: AppContext, fmt: str, output: str | None, force: bool) -> None:
    """Every exam, one row per finding (the exam's fields repeated on each).

    The CSV has the header names `followup import exams` reads by default, so it imports
    back as it is. Cells a spreadsheet would run as a formula are prefixed with a quote.

    \b
    Examples:
      followup export exams --format csv -o exams.csv
      followup --db other.db import exams exams.csv
      followup export exams --format json | jq '.[0]'
    """
    from followup.cli.output import output_stream, write_rows
    from followup.exchange.export import EXAM_COLUMNS, exam_rows

    with app.transaction(write=False) as session, output_stream(output, force=force) as out:
        write_rows(exam_rows(session), EXAM_COLUMNS, fmt, out)


@export.command("plans")
@format_option("csv", "json")
@output_options("the export")
@pass_app
def plans(app: AppContext, fmt: str, output: str | None, force: bool) -> None:
    """Every patient's stored plan: next action, due date, side, reason and flag codes.

    Flags are those that do not depend on the day (overdue and lost-to-follow-up are
    reported by `followup due` and `followup flags` for an as-of date).

    \b
    Examples:
      followup export plans --format csv -o plans.csv
      followup export plans --format json
    """
    from followup.cli.output import output_stream, write_rows
    from followup.exchange.export import PLAN_COLUMNS, plan_rows

    with (
        app.transaction(write=False, plans=True) as session,
        output_stream(output, force=force) as out,
    ):
        write_rows(plan_rows(session), PLAN_COLUMNS, fmt, out)


@export.command("biopsies")
@format_option("csv", "json")
@output_options("the export")
@pass_app
def biopsies(app: AppContext, fmt: str, output: str | None, force: bool) -> None:
    """Every biopsy, one row each: patient_id, date, side, result, concordant (true/false,
    empty when not recorded), facility, pathology, note.

    The CSV is what `followup import biopsies` reads, so it imports back as it is (import the
    exams first: it creates the patients). Cells a spreadsheet would run as a formula are
    prefixed with a quote.

    \b
    Examples:
      followup export biopsies --format csv -o biopsies.csv
      followup --db other.db import biopsies biopsies.csv
    """
    from followup.cli.output import output_stream, write_rows
    from followup.exchange.csv_biopsies import BIOPSY_COLUMNS
    from followup.exchange.export import biopsy_rows

    with app.transaction(write=False) as session, output_stream(output, force=force) as out:
        write_rows(biopsy_rows(session), BIOPSY_COLUMNS, fmt, out)


@export.command("fhir")
@click.argument("patient_id")
@output_options("the export")
@pass_app
def fhir(app: AppContext, patient_id: str, output: str | None, force: bool) -> None:
    """PATIENT_ID as a FHIR R4 Bundle: Patient, a Procedure per exam, an Observation per
    finding (BI-RADS coded with the HL7 Breast Radiology IG and SNOMED CT), and a
    ServiceRequest for the next follow-up.

    The same records always give the same JSON; `followup import fhir` reads it back.

    \b
    Examples:
      followup export fhir P1 -o P1.fhir.json
      followup --db other.db import fhir P1.fhir.json
    """
    from followup.cli.output import dump_json, output_stream
    from followup.exchange.fhir_write import export_bundle

    with app.transaction(write=False, plans=True) as session:
        bundle = export_bundle(session, patient_id)
    with output_stream(output, force=force) as out:
        dump_json(bundle, out)
