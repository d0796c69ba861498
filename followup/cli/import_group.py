"""``followup import exams|biopsies|fhir``: the ways records come in, each in a module of its
own."""

from __future__ import annotations

from followup.cli import LazyGroup

import_group = LazyGroup(
    name="import",
    lazy={
        "exams": "followup.cli.import_exams_command:import_exams",
        "fhir": "followup.cli.fhir_commands:import_fhir",
        "biopsies": "followup.cli.import_biopsies_command:import_biopsies",
    },
    help="""Bring exams and biopsies in from a clinic's CSV export, or a FHIR Bundle.

\b
Examples:
  followup import exams ris-export.csv --dry-run
  followup import exams ris-export.csv --skip-invalid --rejects rejects.csv
  followup import biopsies biopsies.csv
  followup import fhir bundle.json
""",
)
