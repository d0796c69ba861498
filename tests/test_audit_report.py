"""The audit as people and scripts read it (issue 15 point 3): the table, cli.md's JSON, CSV.

The figures themselves are tested in tests/rules/test_audit.py; here, what each output shows
of them: order, references, marks, notes, nulls, and that CSV is spreadsheet-safe.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest

from followup.cli.output import write_csv
from followup.present.audit_report import CSV_COLUMNS, audit_json, audit_table, csv_rows
from followup.rules.audit import AuditBiopsy, AuditExam, AuditPatient, audit
from tests.rules.test_audit import AS_OF, END, PROGRAMME, START, run

CLI_MD_FIELDS = [  # cli.md "Audit", in its order
    "group",
    "screening_exams",
    "diagnostic_exams",
    "positive_screens",
    "recall_rate",
    "cancers",
    "true_positives",
    "false_negatives",
    "cancer_detection_per_1000",
    "ppv1",
    "ppv2",
    "ppv3",
    "sensitivity",
    "specificity",
    "biopsies_recommended",
    "biopsies_done",
    "open_outcomes",
    "outside_range",
]
FIGURE_ORDER = [
    "Screening exams",
    "Diagnostic exams",
    "Recall rate",
    "Cancers",
    "Cancer detection per 1,000",
    "PPV1",
    "PPV2",
    "PPV3",
    "Sensitivity",
    "Specificity",
    "Open outcomes",
]


def large_programme(screens: int = 1000, radiologist: str = "Dr Ames") -> list[AuditPatient]:
    """``screens`` screens at 10% recall, 5 cancers per 1,000 (all detected), 40 biopsies:
    every rate rests on 30 exams or more except sensitivity (5 cancers)."""
    patients = []
    for n in range(screens):
        day = START + timedelta(days=n % 366)
        positive, cancer = n % 10 == 0, n % 200 == 0
        exams = [
            AuditExam(day, "screening", "incomplete" if positive else "negative", "N", radiologist)
        ]
        biopsies = []
        if positive and n % 20 == 0:  # half the recalls go on to a biopsy recommendation
            exams.append(AuditExam(day, "diagnostic", "suspicious", "N", radiologist))
            result = "malignant" if cancer else "benign"
            biopsies.append(AuditBiopsy(day + timedelta(days=5), result))
        patients.append(AuditPatient(exams, biopsies))
    return patients


def block(table: str, title: str) -> list[str]:
    lines = table.splitlines()
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i] == ""), len(lines))
    return lines[start:end]


def row(lines: list[str], label: str) -> str:
    (found,) = [line for line in lines if line.startswith(f"  {label}  ")]
    return found


def notes_under(lines: list[str], label: str) -> list[str]:
    index = lines.index(row(lines, label))
    notes = []
    for line in lines[index + 1 :]:
        if not line.lstrip().startswith("note:"):
            break
        notes.append(line.strip())
    return notes


def test_one_block_per_group_with_the_figures_in_a_radiologists_order():
    table = audit_table(run(by="radiologist"))
    titles = [
        "Radiologist: Ames",
        "Radiologist: Brook",
        "Radiologist not recorded",
        "All radiologists",
    ]
    assert [line for line in table.splitlines() if line in titles] == titles
    for title in titles:
        lines = block(table, title)
        labels = [line[2:].split("  ")[0] for line in lines[2:] if not line.startswith("   ")]
        labels = [label for label in labels if label in FIGURE_ORDER]
        assert labels == FIGURE_ORDER, title


def test_each_rate_stands_beside_its_reference_and_what_it_rests_on():
    lines = block(audit_table(run()), "All exams")
    assert row(lines, "Recall rate").split() == [
        *("Recall", "rate", "37.5%", "!", "3", "of", "8", "screens", "11.6%", "5\u201312%")
    ]
    assert "250.0" in row(lines, "Cancer detection per 1,000")
    assert row(lines, "Cancer detection per 1,000").endswith("5.1    \u2265 2.5")
    assert "1 of 3 biopsy recommendations" in row(lines, "PPV2")
    assert row(lines, "PPV3").rstrip().endswith("28.6%")  # no range in §8
    assert "2 of 5 screens followed by a cancer" in row(lines, "Sensitivity")
    assert row(lines, "Specificity").split()[-2:] == ["88.9%", "88\u201395%"]
    assert row(lines, "Cancers").split()[1:3] == ["5", "2"]
    assert row(lines, "Cancers").endswith("2 after a positive screen, 3 after a negative one")


def test_a_figure_outside_its_range_is_marked_and_explained_under_it():
    lines = block(audit_table(run()), "All exams")
    assert " ! " in row(lines, "Recall rate")
    assert notes_under(lines, "Recall rate") == [
        "note: above the acceptable range (5\u201312%); 8 exams: too few to judge"
    ]
    assert " ! " in row(lines, "Sensitivity")
    assert notes_under(lines, "Sensitivity")[0].startswith("note: below the acceptable range")
    assert " ! " not in row(lines, "PPV2")  # 33% is inside 20-40%
    assert notes_under(lines, "PPV2") == ["note: 3 exams: too few to judge"]


def test_figures_resting_on_30_exams_or_more_have_no_note_unless_outside():
    report = audit(large_programme(), START, END, AS_OF)
    lines = block(audit_table(report), "All exams")
    assert "100 of 1,000 screens" in row(lines, "Recall rate")
    for inside in ("Recall rate", "Cancer detection per 1,000", "PPV1", "Specificity"):
        assert " ! " not in row(lines, inside) and notes_under(lines, inside) == [], inside
    assert "5 of 50 biopsy recommendations" in row(lines, "PPV2")  # 10%: below 20-40%
    assert " ! " in row(lines, "PPV2")
    assert notes_under(lines, "PPV2") == ["note: below the acceptable range (20\u201340%)"]
    assert notes_under(lines, "Sensitivity") == ["note: 5 exams: too few to judge"]


def test_a_rate_without_denominator_shows_a_dash_and_why():
    lines = block(audit_table(run(by="radiologist")), "Radiologist: Ames")
    assert row(lines, "PPV1").split()[:5] == ["PPV1", "\u2014", "no", "positive", "screens"]
    assert notes_under(lines, "PPV1") == []


def test_open_outcomes_are_shown_split_and_the_header_says_which_exams_are_open():
    report = run(as_of=date(2025, 6, 30))
    table = audit_table(report)
    assert "rest on the exams up to 2024-06-30, whose window has ended" in table
    lines = block(table, "All exams")
    assert row(lines, "Open outcomes").split()[-1] == "5"
    assert row(lines, "  positive, window open").split()[-1] == "4"
    assert row(lines, "  biopsy advised, no result").split()[-1] == "2"
    assert row(lines, "  awaiting a biopsy result").split()[-1] == "0"  # E10's window is open
    assert any("2 cancers are already known after screens" in line for line in lines)
    ended = audit_table(run())
    assert "Every exam's window has ended; the outcome figures leave out the exams" in ended
    assert row(block(ended, "All exams"), "  awaiting a biopsy result").split()[-1] == "1"  # E10
    assert "the outcome figures are complete" in audit_table(run(PROGRAMME[:1]))
    assert "No exam's window has ended yet" in audit_table(run(as_of=date(2024, 6, 1)))


def test_what_the_figures_leave_out_is_said_under_the_block():
    lines = block(audit_table(run()), "All exams")
    text = " ".join(line.strip() for line in lines)  # notes wrap at 100 columns
    assert "1 exam without a kind (screening or diagnostic): in neither count" in text
    assert "Not audited (exams): 1 post-procedure, 1 known-malignancy." in text
    assert "with no biopsy on record counts in PPV2 as no cancer once its window" in text
    assert "one whose biopsy is pending waits for its result" in text


def test_the_table_fits_in_100_columns():
    for report in (run(by="radiologist"), run(by="facility"), run(as_of=date(2025, 1, 1))):
        assert max(len(line) for line in audit_table(report).splitlines()) <= 100


def test_json_is_the_object_of_cli_md_with_every_field_and_nulls():
    report = run(by="radiologist")
    data = json.loads(json.dumps(audit_json(report)))
    assert list(data)[:4] == ["from", "to", "by", "as_of"]
    assert {"groups", "references"} <= set(data)
    assert (data["from"], data["to"], data["by"]) == ("2024-01-01", "2024-12-31", "radiologist")
    assert data["outcome_days"] == 365 and data["outcomes_known_through"] == "2025-06-30"
    assert data["facility"] is None  # the exams of every facility
    assert audit_json(report, "Northside Imaging")["facility"] == "Northside Imaging"
    assert [g["group"] for g in data["groups"]] == ["Ames", "Brook", None, "all"]
    for group in data["groups"]:
        assert list(group)[: len(CLI_MD_FIELDS)] == CLI_MD_FIELDS
    ames, _brook, nobody, total = data["groups"]
    assert ames["ppv1"] is None and nobody["recall_rate"] is None
    assert ames["outside_range"] == [
        "recall_rate",
        "cancer_detection_per_1000",
        "ppv2",
        "sensitivity",
        "specificity",
    ]
    assert (total["recall_rate"], total["recall_rate_numerator"]) == (0.375, 3)
    assert (total["cancer_detection_per_1000"], total["cancer_detection_per_1000_denominator"]) == (
        250.0,
        8,
    )
    assert (total["open_outcomes"], total["open_biopsy_recommendations"]) == (2, 2)
    assert data["references"]["recall_rate"] == {
        "label": "Recall rate",
        "unit": "fraction",
        "bcsc_average": 0.116,
        "acceptable_min": 0.05,
        "acceptable_max": 0.12,
    }
    assert data["references"]["cancer_detection_per_1000"]["unit"] == "per 1000"
    assert data["references"]["ppv3"]["acceptable_min"] is None


def test_without_grouping_json_has_the_one_group_all():
    data = audit_json(run())
    assert data["by"] is None and [g["group"] for g in data["groups"]] == ["all"]


def test_csv_has_one_row_per_group_the_json_fields_as_columns_and_rates_as_numbers():
    out = io.StringIO()
    write_csv(csv_rows(run(by="facility")), CSV_COLUMNS, out)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    rows = list(reader)
    assert reader.fieldnames == list(CSV_COLUMNS)
    assert reader.fieldnames[: len(CLI_MD_FIELDS)] == CLI_MD_FIELDS
    assert [r["group"] for r in rows] == ["Lakeside Breast Center", "Northside Imaging", "all"]
    total = rows[-1]
    assert float(total["recall_rate"]) == 0.375 and float(total["ppv2"]) == pytest.approx(1 / 3)
    assert total["awaiting_biopsy_results"] == "1"
    assert total["outside_range"] == "recall_rate ppv1 sensitivity specificity"
    assert rows[0]["recall_rate_denominator"] == "2"


def test_csv_leaves_a_null_rate_empty_and_neutralises_a_formula_like_name():
    patients = [AuditPatient([AuditExam(START, "diagnostic", "negative", "N", "=HYPERLINK(1)")])]
    out = io.StringIO()
    write_csv(csv_rows(audit(patients, START, END, AS_OF, "radiologist")), CSV_COLUMNS, out)
    first = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert first["group"] == "'=HYPERLINK(1)"
    assert first["recall_rate"] == "" and first["outside_range"] == ""


@pytest.mark.parametrize("programme", [PROGRAMME, []])
def test_every_output_copes_with_any_programme(programme):
    report = run(programme, by="radiologist")
    assert audit_table(report).startswith("Outcomes audit of the exams of 2024-01-01")
    assert json.dumps(audit_json(report))
    assert len(csv_rows(report)) == len(report.groups)
