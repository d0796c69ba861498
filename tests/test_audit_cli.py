"""The outcomes audit through the command line (issue 15; clinical-rules.md §8, cli.md "Audit"),
on SQLite and PostgreSQL: a programme small enough to count by hand, read from the database.

The programme is that of tests/rules/test_audit.py, stored through `import exams` and `biopsy
add`; every figure below is counted by hand from this table (as of 2026-06-30, every window
has ended):

    exam patient date        kind category           facility  reader outcome
    E1   A01     2024-01-01  S    negative           North     Ames   TN (the period's first day)
    E2   A02     2024-12-31  S    incomplete         Lake      Brook  TP (last day; cancer 01-15)
    E3   A03     2024-03-01  S    benign             North     Ames   FN (cancer on day 365)
    E4   A04     2024-03-01  S    benign             North     Ames   TN (cancer on day 366)
    E5   A05     2024-02-01  S    negative           North     Ames   FN (the cancer of E6, E7)
    E6   A05     2024-11-01  S    probably-benign    North     Brook  TP (cancer 2024-11-25)
    E7   A05     2024-11-20  D    suspicious         Lake      Brook  malignant: PPV2, PPV3 cancer
    E8   A06     2024-05-10  D    suspicious         North     Ames   benign: PPV2, PPV3 no cancer
    E9   A07     2024-06-01  D    highly-suspicious  Lake      -      no biopsy: PPV2 only, open
    E10  A08     2024-07-01  D    suspicious         Lake      Brook  pending: open, in no rate
    E11  A09     2024-04-01  S    incomplete-priors  Lake      Brook  FP
    E12  A10     2024-02-01  S    negative           North     Ames   FN (known-malignancy 08-01)
    E13  A10     2024-05-21  -    post-procedure     North     Ames   not audited
    E14  A10     2024-08-01  -    known-malignancy   North     Ames   not audited (E12's cancer)
    E15  A11     2024-09-01  -    negative           North     -      no kind: not audited
    (A12's screens of 2023-12-31 and 2025-01-01, and A02's exam of 2025-01-10, are outside;
    North is Northside Imaging, Lake is Lakeside Breast Center, the reader the radiologist)

A05 has two screens in the period (E5, E6), each judged on its own window.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli, postgres_schema

PERIOD = ("--from", "2024-01-01", "--to", "2024-12-31")
AS_OF = ("--as-of", "2026-06-30")
NORTH, LAKE = "Northside Imaging", "Lakeside Breast Center"
DASH = "\u2013"  # the ranges' en dash
EXAMS = f"""patient_id,date,facility,kind,category,laterality,radiologist
A01,2024-01-01,{NORTH},screening,negative,,Ames
A02,2024-12-31,{LAKE},screening,incomplete,,Brook
A02,2025-01-10,{LAKE},diagnostic,suspicious,left,Brook
A03,2024-03-01,{NORTH},screening,benign,,Ames
A04,2024-03-01,{NORTH},screening,benign,,Ames
A05,2024-02-01,{NORTH},screening,negative,,Ames
A05,2024-11-01,{NORTH},screening,probably-benign,left,Brook
A05,2024-11-20,{LAKE},diagnostic,suspicious,left,Brook
A06,2024-05-10,{NORTH},diagnostic,suspicious,left,Ames
A07,2024-06-01,{LAKE},diagnostic,highly-suspicious,left,
A08,2024-07-01,{LAKE},diagnostic,suspicious,left,Brook
A09,2024-04-01,{LAKE},screening,incomplete-priors,,Brook
A10,2024-02-01,{NORTH},screening,negative,,Ames
A10,2024-05-21,{NORTH},,post-procedure,left,Ames
A10,2024-08-01,{NORTH},,known-malignancy,left,Ames
A11,2024-09-01,{NORTH},,negative,,
A12,2023-12-31,{NORTH},screening,suspicious,left,Ames
A12,2025-01-01,{NORTH},screening,incomplete,,
"""
BIOPSIES = [
    ("A02", "2025-01-15", "malignant"),
    ("A03", "2025-03-01", "malignant"),  # day 365 after E3
    ("A04", "2025-03-02", "malignant"),  # day 366 after E4
    ("A05", "2024-11-25", "malignant"),
    ("A06", "2024-05-20", "benign", "--concordant"),
    ("A08", "2024-07-05", "pending"),
]
# The fields of cli.md "Audit".
GROUP_FIELDS = {
    "group", "screening_exams", "diagnostic_exams", "positive_screens", "recall_rate",
    "cancers", "true_positives", "false_negatives", "cancer_detection_per_1000", "ppv1",
    "ppv2", "ppv3", "sensitivity", "specificity", "biopsies_recommended", "biopsies_done",
    "open_outcomes", "outside_range",
}  # fmt: skip
FIGURES = ("screening_exams", "diagnostic_exams", "positive_screens", "cancers",
           "true_positives", "false_negatives", "biopsies_recommended", "biopsies_done",
           "open_outcomes")  # fmt: skip
RATES = ("recall_rate", "cancer_detection_per_1000", "ppv1", "ppv2", "ppv3", "sensitivity",
         "specificity")  # fmt: skip


def load(cli: Cli, folder: Path, patients: tuple[str, ...] | None = None) -> Cli:
    lines = EXAMS.splitlines(keepends=True)
    if patients is not None:
        lines = [lines[0], *(line for line in lines[1:] if line.split(",")[0] in patients)]
    exams = folder / "exams.csv"
    exams.write_text("".join(lines), encoding="utf-8")
    cli("import", "exams", str(exams))
    for patient, day, result, *more in BIOPSIES:
        if patients is None or patient in patients:
            cli("biopsy", "add", patient, "--date", day, "--side", "left", "--result", result,
                *more)  # fmt: skip
    return cli


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def programme(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cli]:
    """The programme above, built once per database for the tests that only read it."""
    folder = tmp_path_factory.mktemp("audit")
    if request.param == "sqlite":
        yield load(Cli(str(folder / "followup.db")), folder)
        return
    with postgres_schema() as url:
        yield load(Cli(url), folder)


def audit_json(cli: Cli, *args: str) -> dict:
    return json.loads(cli("audit", *PERIOD, *AS_OF, *args, "--format", "json").stdout)


def counts(group: dict) -> tuple:
    return tuple(group[name] for name in FIGURES)


def rates(group: dict) -> dict:
    return {name: group[name] for name in RATES}


def test_every_figure_of_the_programme_counted_by_hand(programme: Cli):
    shown = audit_json(programme)
    assert (shown["from"], shown["to"], shown["by"], shown["facility"]) == (
        "2024-01-01",
        "2024-12-31",
        None,
        None,
    )
    assert (shown["as_of"], shown["outcome_days"]) == ("2026-06-30", 365)
    [total] = shown["groups"]
    assert total["group"] == "all"
    # screens E1-E6, E11, E12; diagnostic E7-E10; positive E2, E6, E11; cancers after a
    # positive screen E2, E6 and after a negative one E3 (day 365), E5, E12 (known malignancy);
    # biopsies recommended E7-E10, done E7, E8, E10 (pending); open E9 (none), E10 (pending)
    assert counts(total) == (8, 4, 3, 5, 2, 3, 4, 3, 2)
    assert rates(total) == pytest.approx(
        {
            "recall_rate": 3 / 8,
            "cancer_detection_per_1000": 2 * 1000 / 8,
            "ppv1": 2 / 3,  # E2, E6 of E2, E6, E11
            "ppv2": 1 / 3,  # E7 of E7-E9 (E10 awaits its pending biopsy's result)
            "ppv3": 1 / 2,  # E7 of E7, E8 (E10's biopsy is pending)
            "sensitivity": 2 / 5,
            "specificity": 2 / 3,  # E1, E4 of E1, E4, E11
        }
    )
    assert total["outside_range"] == ["recall_rate", "ppv1", "sensitivity", "specificity"]
    assert (total["false_positives"], total["true_negatives"]) == (1, 2)
    assert (total["exams_without_kind"], total["post_procedure_exams"]) == (1, 1)
    assert total["known_malignancy_exams"] == 1
    assert (total["open_positives"], total["open_biopsy_recommendations"]) == (0, 2)
    assert total["awaiting_biopsy_results"] == 1  # E10


def test_by_radiologist_counted_by_hand(programme: Cli):
    shown = audit_json(programme, "--by", "radiologist")
    assert shown["by"] == "radiologist"
    ames, brook, nobody, total = shown["groups"]
    assert [g["group"] for g in shown["groups"]] == ["Ames", "Brook", None, "all"]
    assert counts(ames) == (5, 1, 0, 3, 0, 3, 1, 1, 0)  # E1, E3, E4, E5, E12; E8
    assert rates(ames) == {
        "recall_rate": 0.0,
        "cancer_detection_per_1000": 0.0,
        "ppv1": None,  # no positive screen: no denominator
        "ppv2": 0.0,
        "ppv3": 0.0,
        "sensitivity": 0.0,
        "specificity": 1.0,
    }
    assert counts(brook) == (3, 2, 3, 2, 2, 0, 2, 2, 1)  # E2, E6, E11; E7, E10
    assert rates(brook) == pytest.approx(
        {
            "recall_rate": 1.0,
            "cancer_detection_per_1000": 2000 / 3,
            "ppv1": 2 / 3,
            "ppv2": 1.0,  # E7 (E10 awaits its result)
            "ppv3": 1.0,
            "sensitivity": 1.0,
            "specificity": 0.0,
        }
    )
    assert counts(nobody) == (0, 1, 0, 0, 0, 0, 1, 0, 1)  # E9 (and E15, which has no kind)
    assert nobody["exams_without_kind"] == 1
    assert (nobody["recall_rate"], nobody["ppv2"], nobody["ppv3"]) == (None, 0.0, None)
    assert counts(total) == (8, 4, 3, 5, 2, 3, 4, 3, 2)


def test_by_facility_counted_by_hand_and_one_facility_alone(programme: Cli):
    lake, north, total = audit_json(programme, "--by", "facility")["groups"]
    assert (lake["group"], north["group"], total["group"]) == (LAKE, NORTH, "all")
    assert counts(lake) == (2, 3, 2, 1, 1, 0, 3, 2, 2)  # E2, E11; E7, E9, E10
    assert (lake["ppv2"], lake["ppv3"]) == (0.5, 1.0)  # E7 of E7, E9; E7 of E7
    assert counts(north) == (6, 1, 1, 4, 1, 3, 1, 1, 0)  # E1, E3-E6, E12; E8
    assert (north["ppv2"], north["ppv3"], north["exams_without_kind"]) == (0.0, 0.0, 1)
    alone = audit_json(programme, "--facility", "northside  IMAGING")  # matched as everywhere
    assert alone["facility"] == NORTH
    [only] = alone["groups"]
    assert only == {**north, "group": "all"}


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_the_same_figures_whatever_batches_the_rows_come_in(
    programme: Cli, monkeypatch: pytest.MonkeyPatch, rows: int
):
    """The store reads a batch of rows at a time: with batches of 1, 2 or 3 rows, patients
    (A05's three exams, A10's) straddle batches, and every figure stays the same."""
    whole = [audit_json(programme, "--by", by) for by in ("facility", "radiologist")]
    monkeypatch.setattr("followup.store.reports.BATCH", rows)
    assert [audit_json(programme, "--by", by) for by in ("facility", "radiologist")] == whole


def test_open_outcomes_are_counted_never_guessed(programme: Cli):
    """As of 2025-06-30 the windows of the exams after 2024-06-30 are open: E2, E6 (with a
    cancer already known), E7 and E10 are open positives; E9 and E10 still have no result."""
    [total] = json.loads(
        programme("audit", *PERIOD, "--as-of", "2025-06-30", "--format", "json").stdout
    )["groups"]
    assert (total["screening_exams"], total["positive_screens"]) == (8, 3)  # need no outcome
    assert (total["closed_screens"], total["cancers_in_open_windows"]) == (6, 2)
    # closed: E1 TN, E3 FN, E4 TN, E5 FN, E11 FP, E12 FN
    assert (total["true_positives"], total["false_negatives"], total["cancers"]) == (0, 3, 3)
    assert (total["false_positives"], total["true_negatives"]) == (1, 2)
    assert total["cancer_detection_per_1000"] == 0.0 and total["ppv1"] == 0.0
    assert (total["ppv2_numerator"], total["ppv2_denominator"]) == (0, 2)  # E8, E9 ended
    assert (total["open_positives"], total["open_biopsy_recommendations"]) == (4, 2)
    assert total["open_outcomes"] == 5  # E2, E6, E7, E9, E10: each counted once
    table = programme("audit", *PERIOD, "--as-of", "2025-06-30").stdout
    assert "rest on the exams up to 2024-06-30, whose window has ended" in table
    assert "later ones wait for theirs (the positive ones are open outcomes)" in table
    assert "2 cancers are already known after screens whose 365-day window has not ended" in table


def test_exams_after_the_as_of_date_are_not_known_yet(programme: Cli):
    [total] = json.loads(
        programme("audit", *PERIOD, "--as-of", "2024-06-30", "--format", "json").stdout
    )["groups"]
    # E1, E3, E4, E5, E11, E12; E8, E9 (E2, E6, E7, E10 and every biopsy but E8's are later)
    assert (total["screening_exams"], total["diagnostic_exams"]) == (6, 2)
    assert (total["cancers"], total["biopsies_done"]) == (0, 1)


def test_the_table_has_a_block_per_group_each_figure_beside_its_reference(programme: Cli):
    out = programme("audit", *PERIOD, *AS_OF, "--by", "radiologist").stdout
    assert out.startswith(
        "Outcomes audit of the exams of 2024-01-01 to 2024-12-31, by radiologist, as of 2026-06-30."
    )
    titles = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert titles[-4:] == [
        "Radiologist: Ames",
        "Radiologist: Brook",
        "Radiologist not recorded",
        "All radiologists",
    ]
    total = out[out.index("All radiologists") :].splitlines()
    recall = next(line for line in total if line.lstrip().startswith("Recall rate"))
    assert recall.split() == ["Recall", "rate", "37.5%", "!", "3", "of", "8", "screens",
                              "11.6%", f"5{DASH}12%"]  # fmt: skip
    assert any(f"above the acceptable range (5{DASH}12%); 8 exams: too few to judge" in line
               for line in total)  # fmt: skip
    sensitivity = next(line for line in total if line.lstrip().startswith("Sensitivity"))
    assert "40.0%" in sensitivity and "2 of 5 screens followed by a cancer" in sensitivity
    alone = programme("audit", *PERIOD, *AS_OF, "--facility", "Lakeside breast center").stdout
    assert alone.startswith(f"Outcomes audit of the exams of 2024-01-01 to 2024-12-31 at {LAKE},")


def test_json_is_the_object_of_cli_md(programme: Cli):
    shown = audit_json(programme, "--by", "facility")
    assert {"from", "to", "by", "groups", "references"} <= set(shown)
    for group in shown["groups"]:
        assert set(group) >= GROUP_FIELDS
    assert shown["references"]["recall_rate"] == {
        "label": "Recall rate",
        "unit": "fraction",
        "bcsc_average": 0.116,
        "acceptable_min": 0.05,
        "acceptable_max": 0.12,
    }
    assert shown["references"]["cancer_detection_per_1000"]["acceptable_min"] == 2.5


def test_csv_has_a_row_per_group_to_a_file_written_whole(programme: Cli, tmp_path: Path):
    target = tmp_path / "audit.csv"
    programme("audit", *PERIOD, *AS_OF, "--by", "radiologist", "--format", "csv",
              "-o", str(target))  # fmt: skip
    assert os.stat(target).st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [row["group"] for row in rows] == ["Ames", "Brook", "", "all"]
    assert (rows[-1]["screening_exams"], rows[-1]["recall_rate"]) == ("8", "0.375")
    assert rows[0]["ppv1"] == ""  # no denominator
    assert rows[-1]["outside_range"] == "recall_rate ppv1 sensitivity specificity"
    err = programme("audit", *PERIOD, *AS_OF, "-o", str(target), code=1).stderr
    assert "--force" in err and err.count("\n") == 1
    programme("audit", *PERIOD, *AS_OF, "-o", str(target), "--force")
    assert target.read_text(encoding="utf-8").startswith("Outcomes audit of the exams")


def test_plot_png_and_svg(programme: Cli, tmp_path: Path):
    png, svg = tmp_path / "audit.png", tmp_path / "audit.svg"
    out = programme("audit", *PERIOD, *AS_OF, "--by", "radiologist", "--plot", str(png))
    assert out.stdout.startswith("Outcomes audit")  # the report still goes to the output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.stat(png).st_mode & 0o777 == 0o600
    programme("audit", *PERIOD, *AS_OF, "--by", "facility", "--plot", str(svg))
    drawn = svg.read_text(encoding="utf-8")
    assert drawn.startswith("<?xml") and LAKE in drawn and NORTH in drawn


def test_the_plot_is_per_radiologist_unless_told_and_the_report_stays_as_asked(
    programme: Cli, tmp_path: Path
):
    svg = tmp_path / "audit.svg"
    out = programme("audit", *PERIOD, *AS_OF, "--plot", str(svg), "--format", "json").stdout
    assert [group["group"] for group in json.loads(out)["groups"]] == ["all"]
    drawn = svg.read_text(encoding="utf-8")  # matplotlib keeps each text as a comment
    assert "by radiologist" in drawn and "Brook" in drawn and "all radiologists" in drawn
    by_facility = tmp_path / "facilities.svg"
    programme("audit", *PERIOD, *AS_OF, "--by", "facility", "--plot", str(by_facility))
    drawn = by_facility.read_text(encoding="utf-8")
    assert "by facility" in drawn and "Brook" not in drawn


def test_plot_errors_before_anything_is_read_or_written(
    programme: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    report, png = tmp_path / "audit.txt", tmp_path / "audit.png"
    err = programme("audit", *PERIOD, "--plot", str(tmp_path / "audit.pdf"), code=2).stderr
    assert ".png or .svg" in err
    err = programme("audit", *PERIOD, "-o", str(png), "--plot", str(png), code=2).stderr
    assert "the same file" in err
    roundabout = tmp_path / "sub" / ".." / "audit.png"
    err = programme("audit", *PERIOD, "-o", str(roundabout), "--plot", str(png), code=2).stderr
    assert "the same file" in err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    err = programme("audit", *PERIOD, "-o", str(report), "--plot", str(png), code=1).stderr
    assert err == (
        "Error: the audit plot needs matplotlib, an optional extra: pip install 'followup[plot]'\n"
    )
    assert not report.exists() and not png.exists()


def test_the_plot_goes_through_the_one_writer(programme: Cli, tmp_path: Path):
    """Replaced only with --force, never through a link, and no report either when refused."""
    png, report = tmp_path / "audit.png", tmp_path / "audit.txt"
    png.write_bytes(b"keep me")
    err = programme("audit", *PERIOD, "-o", str(report), "--plot", str(png), code=1).stderr
    assert err.endswith("already exists; add --force to replace it\n")
    assert png.read_bytes() == b"keep me" and not report.exists()
    programme("audit", *PERIOD, "--plot", str(png), "--force")
    assert png.read_bytes()[:4] == b"\x89PNG"
    link = tmp_path / "link.svg"
    link.symlink_to(png)
    err = programme("audit", *PERIOD, "--plot", str(link), "--force", code=1).stderr
    assert "is a symbolic link; followup never writes through one" in err
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_usage_errors(programme: Cli, tmp_path: Path):
    err = programme("audit", "--from", "2024-12-31", "--to", "2024-01-01", code=2).stderr
    assert "--from 2024-12-31 is after --to 2024-01-01" in err
    err = programme("audit", *PERIOD, "--as-of", "2023-06-30", code=2).stderr
    assert "after the as-of date" in err
    assert "--to" in programme("audit", "--from", "2024-01-01", code=2).stderr
    err = programme("audit", *PERIOD, "--facility", "Northside", code=1).stderr
    assert err == "Error: no facility is named 'Northside'; did you mean 'Northside Imaging'?\n"
    missing = tmp_path / "none.db"
    err = Cli(str(missing))("audit", *PERIOD, code=1).stderr
    assert err.startswith("Error: there is no database at") and "init`" in err
    assert not missing.exists()


@pytest.fixture
def day_365_and_366(db_url: str, tmp_path: Path) -> Cli:
    """E3 and E4 alone: benign screens of 2024-03-01, cancers on day 365 and on day 366."""
    return load(Cli(db_url), tmp_path, ("A03", "A04"))


def test_the_window_is_the_policy_outcome_days(day_365_and_366: Cli, tmp_path: Path):
    cli = day_365_and_366
    [total] = audit_json(cli)["groups"]
    assert (total["false_negatives"], total["true_negatives"]) == (1, 1)  # day 365 in, 366 out
    assert "outcome_days = 365\n" in cli("policy", "show").stdout
    longer = tmp_path / "longer.toml"
    longer.write_text("[policy]\noutcome_days = 366\n", encoding="utf-8")
    cli("policy", "set", str(longer))
    assert "outcome_days = 366  # default 365" in cli("policy", "show").stdout
    shown = audit_json(cli)
    assert shown["outcome_days"] == 366
    assert (shown["groups"][0]["false_negatives"], shown["groups"][0]["true_negatives"]) == (2, 0)
    too_long = tmp_path / "too-long.toml"
    too_long.write_text("[policy]\noutcome_days = 731\n", encoding="utf-8")
    err = cli("policy", "set", str(too_long), code=1).stderr
    assert "'outcome_days' must be a whole number of days from 1 to 730, not 731" in err


def test_a_biopsy_of_the_other_breast_leaves_the_recommendation_open(cli: Cli):
    """§4: a biopsy recommendation is answered by a biopsy of its own breast. A benign
    biopsy of the right breast after a suspicious finding on the left leaves the left's
    recommendation open (as her status says), not done; a left biopsy then answers it. A
    finding of both breasts is answered by either; a cancer counts whichever breast."""
    for patient in ("Q1", "Q2"):
        cli("patient", "add", patient)
    cli("exam", "add", "Q1", "--date", "2024-03-01", "--facility", NORTH, "--kind",
        "diagnostic", "--category", "4B", "--laterality", "left")  # fmt: skip
    cli("biopsy", "add", "Q1", "--date", "2024-03-10", "--side", "right", "--result", "benign",
        "--concordant")  # fmt: skip
    [total] = audit_json(cli)["groups"]
    assert (total["biopsies_recommended"], total["biopsies_done"]) == (1, 0)
    assert (total["open_biopsy_recommendations"], total["open_outcomes"]) == (1, 1)
    assert json.loads(cli("status", "Q1", *AS_OF, "--format", "json").stdout)["flags"]
    cli("biopsy", "add", "Q1", "--date", "2024-03-20", "--side", "left", "--result", "benign",
        "--concordant")  # fmt: skip
    [total] = audit_json(cli)["groups"]
    assert (total["biopsies_done"], total["open_biopsy_recommendations"]) == (1, 0)
    assert (total["ppv3_numerator"], total["ppv3_denominator"]) == (0, 1)
    cli("exam", "add", "Q2", "--date", "2024-04-01", "--facility", NORTH, "--kind",
        "diagnostic", "--category", "5", "--laterality", "bilateral")  # fmt: skip
    cli("biopsy", "add", "Q2", "--date", "2024-04-09", "--side", "right", "--result",
        "malignant")  # fmt: skip
    [total] = audit_json(cli)["groups"]
    assert (total["biopsies_done"], total["ppv3_numerator"]) == (2, 1)
