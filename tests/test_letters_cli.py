"""The letters through the CLI (issue 14 points 6, 7; clinical-rules.md §7; cli.md "Letters"),
on SQLite and PostgreSQL: which letters a run produces, each once, recorded with a contact;
what a dry run lists; letters lacking an address; the desk's `letter ID`; the clinic's density
statements; the first run's rule."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from letters_support import page_text, placed_text, region
from pypdf import PdfReader

from followup.present.letter_layout import PAPERS
from tests.conftest import Cli, sql

AS_OF = "2025-07-15"
D = date.fromisoformat
ADDRESS = "12 Main St\\nSpringfield, IL 62701"
LETTER = PAPERS["letter"]
REVEALING = ("cancer", "benign", "biops", "suspicious", "bi-rads", "dense", "density")


@pytest.fixture
def clinic(cli: Cli) -> Cli:
    """A clinic and a facility with their addresses and telephone numbers."""
    cli("clinic", "set", "--name", "Lakeside Breast Center", "--phone", "(217) 555-0142",
        "--address", "400 Harbor Road\\nSpringfield, IL 62704")  # fmt: skip
    cli("patient", "add", "P0", "--name", "Setup", "--address", ADDRESS)
    exam(cli, "P0", "2019-01-10", facility="Northside Imaging")
    exam(cli, "P0", "2019-01-10", facility="Southside Clinic", kind="diagnostic")
    for name, n in (("Northside Imaging", 1), ("Southside Clinic", 2)):
        cli("facility", "edit", name, "--phone", f"(217) 555-010{n}",
            "--address", f"{n}0 Elm Street\\nDecatur, IL 6252{n}")  # fmt: skip
    return cli


def exam(cli: Cli, patient: str, day: str, category: str = "negative", **options: str) -> None:
    args = ["exam", "add", patient, "--date", day, "--category", category]
    options.setdefault("facility", "Northside Imaging")
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", value]
    cli(*args)


def patient(cli: Cli, name: str, *extra: str, address: str | None = ADDRESS) -> None:
    args = ["patient", "add", name, "--name", f"Ana {name}", *extra]
    cli(*args, *(("--address", address) if address else ()))


def listed(cli: Cli, *args: str, as_of: str = AS_OF) -> list[dict]:
    out = cli("letters", "--dry-run", "--format", "json", "--as-of", as_of, *args)
    return [row for row in json.loads(out.stdout) if row["patient_id"] != "P0"]


def produce(cli: Cli, path: Path, *args: str, as_of: str = AS_OF, code: int = 0) -> str:
    return cli("letters", "--as-of", as_of, "-o", str(path), *args, code=code).stdout


def texts(path: Path) -> list[str]:
    """Each page's text, white space (no-break spaces too) folded."""
    return [" ".join(page_text(page).split()) for page in placed_text(path.read_bytes())]


def contacts(cli: Cli, name: str) -> list[str]:
    rows = json.loads(cli("contact", "list", name, "--format", "json").stdout)
    return [row["outcome"] for row in rows]


def test_a_result_letter_is_produced_once_recorded_and_counted_as_a_contact(
    clinic: Cli, tmp_path: Path
):
    patient(clinic, "P1")
    exam(clinic, "P1", "2025-07-10", "3", laterality="left", kind="diagnostic", density="c")
    (row,) = [r for r in listed(clinic) if r["kind"] == "result"]
    assert row["patient_id"] == "P1" and row["due"] == "2025-08-09" and row["problem"] is None
    out = tmp_path / "letters.pdf"
    said = produce(clinic, out, "--kind", "result")
    assert said.startswith("produced 1 letters into") and "not produced 0" in said
    assert os.stat(out).st_mode & 0o777 == 0o600
    page = " ".join(texts(out))  # one letter, a page or two (§7)
    assert len(PdfReader(out).pages) <= 2
    assert "Ana P1" in page and "Northside Imaging" in page and "(217) 555-0101" in page
    assert "10 Elm Street, Decatur, IL 62521" in page
    assert "Your breast tissue is dense." in page  # density c: the federal statement
    assert "Reference: L-" in page
    assert contacts(clinic, "P1") == ["letter-sent"]
    again = tmp_path / "again.pdf"
    assert produce(clinic, again, "--kind", "result").startswith("produced 0 letters (no file")
    assert not again.exists()  # nothing due: no file
    assert listed(clinic, "--kind", "result") == []
    # a letter is a contact, not a call: she stays on the to-call list when overdue
    status = json.loads(clinic("status", "P1", "--as-of", AS_OF, "--format", "json").stdout)
    assert status["tracking"]["last_contact"]["outcome"] == "letter-sent"


def test_a_result_letter_tells_both_breasts_next_steps(clinic: Cli, tmp_path: Path):
    """§2 "also": a biopsy of the right breast and a 6-month follow-up of the left; the
    letter gives both, the biopsy first, so the left finding is not hidden behind it."""
    patient(clinic, "P1")
    clinic("exam", "add", "P1", "--date", "2025-07-10", "--facility", "Northside Imaging",
           "--kind", "diagnostic", "--category", "3", "--laterality", "left", "--category", "4B",
           "--laterality", "right")  # fmt: skip
    produce(clinic, tmp_path / "r.pdf")
    page = " ".join(t for t in texts(tmp_path / "r.pdf") if "Ana P1" in t)
    biopsy = page.index("Have a biopsy of your right breast by")
    left = page.index("Have a follow-up mammogram of your left breast by January 10, 2026")
    assert biopsy < page.index("There is one more thing to do:") < left


def test_suspicious_results_are_due_within_7_days(clinic: Cli):
    patient(clinic, "P1")
    exam(clinic, "P1", "2025-07-10", "4b", laterality="right", kind="diagnostic")
    (row,) = [r for r in listed(clinic) if r["kind"] == "result"]
    assert row["due"] == "2025-07-17"
    assert "suspicious (BI-RADS 4B)" in row["about"]


def test_the_first_run_writes_no_backlog_of_old_exams(clinic: Cli, tmp_path: Path):
    """Result letters go to exams dated from 30 days before the first run on; a later run
    still produces a late letter for an exam recorded after it, dated in that window."""
    patient(clinic, "P1")
    patient(clinic, "P2")
    exam(clinic, "P1", "2025-06-10")  # 35 days before the first run
    exam(clinic, "P2", "2025-06-20")  # 25 days before
    kinds = [(r["patient_id"], r["kind"]) for r in listed(clinic, "--kind", "result")]
    assert kinds == [("P2", "result")]
    produce(clinic, tmp_path / "a.pdf")
    patient(clinic, "P3")
    exam(clinic, "P3", "2025-06-16")  # recorded late: in the window of the first run
    exam(clinic, "P1", "2025-06-01", facility="Southside Clinic")  # before it: no letter
    later = [(r["patient_id"], r["due"]) for r in listed(clinic, "--kind", "result",
                                                         as_of="2025-08-01")]  # fmt: skip
    assert later == [("P3", "2025-07-16")]  # its due date passed: produced all the same


def test_ladder_letters_reminder_then_overdue_steps_the_last_certified(clinic: Cli, tmp_path: Path):
    patient(clinic, "P1")
    exam(clinic, "P1", "2024-08-01")  # routine screening due 2025-08-01
    produce(clinic, tmp_path / "start.pdf", as_of="2025-06-01")  # the ladder starts
    (reminder,) = listed(clinic, as_of="2025-07-15")
    assert (reminder["kind"], reminder["due"]) == ("reminder", "2025-07-02")
    assert reminder["about"].startswith("upcoming of the follow-up due 2025-08-01")
    produce(clinic, tmp_path / "r.pdf", as_of="2025-07-15")
    assert listed(clinic, as_of="2025-07-20") == []  # each step once
    steps = []
    for day in ("2025-08-02", "2025-08-31", "2025-09-30", "2025-10-30"):
        for row in listed(clinic, as_of=day):
            steps.append((row["kind"], row["about"].split()[0], row["certified"]))
        produce(clinic, tmp_path / f"{day}.pdf", as_of=day)
    assert steps == [
        ("overdue", "overdue-1", False),
        ("overdue", "overdue-2", False),
        ("overdue", "overdue-3", True),
    ]
    (last,) = placed_text((tmp_path / "2025-09-30.pdf").read_bytes())
    window = region(last, LETTER.window_top, LETTER.body_top)
    assert window == ["CERTIFIED MAIL", "Ana P1", "12 Main St", "Springfield, IL 62701"]
    assert contacts(clinic, "P1") == ["letter-sent"] * 4
    # letters are contacts, not calls: she is still on the to-call list (§7, §10)
    to_call = clinic(
        "due", "--to-call", "--as-of", "2025-10-05", "--format", "json"
    ).stdout  # 5 days on
    assert "P1" in [row["patient_id"] for row in json.loads(to_call)]


def test_the_first_run_sends_no_overdue_step_that_fell_before_it(clinic: Cli, tmp_path: Path):
    patient(clinic, "P1")
    exam(clinic, "P1", "2024-05-01")  # due 2025-05-01: steps on 05-02, 05-31, 06-30
    assert listed(clinic, as_of="2025-07-15") == []
    assert [r["about"].split()[0] for r in listed(clinic, as_of="2025-06-30")] == ["overdue-3"]
    produce(clinic, tmp_path / "first.pdf", as_of="2025-06-30")
    (page,) = [t for t in texts(tmp_path / "first.pdf") if "Ana P1" in t]
    assert "last letter" in page and "wrote to you about this before" not in page  # her first


def test_an_overdue_letter_says_we_wrote_before_only_after_a_letter(clinic: Cli, tmp_path: Path):
    patient(clinic, "P1")
    exam(clinic, "P1", "2024-08-01")  # routine screening due 2025-08-01
    produce(clinic, tmp_path / "r.pdf", as_of="2025-07-15")  # the upcoming reminder
    produce(clinic, tmp_path / "o.pdf", as_of="2025-08-02")  # overdue-1
    (page,) = [t for t in texts(tmp_path / "o.pdf") if "Ana P1" in t]
    assert "wrote to you about this before" in page
    desk = tmp_path / "desk.pdf"
    clinic("letter", "P1", "--kind", "overdue", "--as-of", "2025-08-03", "-o", str(desk))
    assert "wrote to you about this before" in texts(desk)[0]


def test_an_empty_run_starts_no_ladder(clinic: Cli, tmp_path: Path):
    """Only a run that produced a letter starts the letters' ladder: an empty one on
    2025-01-01 would have made the first real run a catch-up of every step since."""
    patient(clinic, "P1")
    exam(clinic, "P1", "2024-05-01")  # due 2025-05-01: steps on 05-02, 05-31, 06-30
    produce(clinic, tmp_path / "empty.pdf", as_of="2025-01-01")
    assert not (tmp_path / "empty.pdf").exists()
    assert settings(clinic) == {}
    assert listed(clinic, as_of="2025-07-15") == []  # the step of 06-30 fell before the start


def test_letters_and_e_mails_start_their_ladders_apart(clinic: Cli, tmp_path: Path):
    """A clinic e-mailing since 2024-12-15 prints its first letters on 2025-07-15: no result
    letter for an exam of January, no overdue letter whose step fell before 07-15."""
    from followup.store.database import open_database
    from followup.store.ladder_start import start_ladder

    database = open_database(clinic.url)
    with database.transaction() as session:
        start_ladder(session, D("2024-12-15"))  # the e-mails' channel
    database.close()
    patient(clinic, "P1")
    exam(clinic, "P1", "2024-05-01")  # overdue steps 2025-05-02, 05-31, 06-30
    patient(clinic, "P2")
    exam(clinic, "P2", "2025-01-05")
    patient(clinic, "P3")
    exam(clinic, "P3", "2025-07-01")
    assert [(r["patient_id"], r["kind"]) for r in listed(clinic)] == [("P3", "result")]
    produce(clinic, tmp_path / "first.pdf")
    assert settings(clinic) == {"ladder_started": "2024-12-15", "letters_started": AS_OF}


def settings(cli: Cli) -> dict[str, str]:
    """The ladder's start days, as stored."""
    rows = sql(cli.url, "SELECT key, value FROM settings WHERE key LIKE '%\\_started' ESCAPE '\\'")
    return {str(key): str(value) for key, value in rows}


def test_scheduled_closed_deceased_and_no_reminders_patients(clinic: Cli, tmp_path: Path):
    for name in ("P1", "P2", "P3", "P4", "P5"):
        patient(clinic, name, *(("--no-reminders",) if name == "P5" else ()))
        exam(clinic, name, "2024-08-01")
        exam(clinic, name, "2025-07-01", facility="Southside Clinic", kind="diagnostic")
    for name in ("P1", "P2", "P3", "P4", "P5"):  # every one due soon: a reminder each
        exam(clinic, name, "2025-07-02", "0", facility="Southside Clinic", kind="diagnostic")
    clinic("contact", "P2", "--outcome", "scheduled", "--date", "2025-07-10",
           "--appointment", "2025-07-28")  # fmt: skip
    clinic("patient", "close", "P3", "--reason", "moved-away", "--date", "2025-07-10")
    clinic("patient", "close", "P4", "--reason", "deceased", "--date", "2025-07-10")
    kinds = {(r["patient_id"], r["kind"]) for r in listed(clinic)}
    assert ("P1", "reminder") in kinds and ("P1", "result") in kinds
    assert ("P2", "result") in kinds and ("P2", "reminder") not in kinds  # scheduled
    assert ("P5", "result") in kinds and ("P5", "reminder") not in kinds  # reminders off
    assert not {p for p, _ in kinds} & {"P3", "P4"}  # closed
    with_closed = {(r["patient_id"], r["kind"]) for r in listed(clinic, "--closed")}
    assert ("P3", "result") in with_closed
    assert "P4" not in {p for p, _ in with_closed}  # deceased: never
    clinic("patient", "reopen", "P4", "--date", "2025-07-12")
    exam(clinic, "P4", "2025-07-13", "0", facility="Southside Clinic", kind="diagnostic")
    assert "P4" not in {r["patient_id"] for r in listed(clinic)}  # never, reopened or not
    refused = clinic("letter", "P4", "--kind", "result", "-o", str(tmp_path / "d.pdf"), code=1)
    assert "recorded deceased" in refused.stderr


def test_films_request_to_the_facility_holding_earlier_films(clinic: Cli, tmp_path: Path):
    patient(clinic, "P1", "--birth-date", "1968-03-02")
    exam(clinic, "P1", "2023-06-09")
    exam(clinic, "P1", "2024-06-12")
    exam(clinic, "P1", "2025-07-10", facility="Southside Clinic")
    rows = [r for r in listed(clinic) if r["kind"] == "films-request"]
    assert [(r["facility"], r["about"]) for r in rows] == [
        ("Southside Clinic",
         "films at Northside Imaging (2023-06-09, 2024-06-12) for Southside Clinic")
    ]  # fmt: skip
    out = tmp_path / "films.pdf"
    produce(clinic, out, "--kind", "films-request")
    cover, form = texts(out)
    assert "Northside Imaging" in cover and "June 9, 2023" in form and "June 12, 2024" in form
    assert "Signature" in form and "Date of birth: March 2, 1968" in form
    assert "20 Elm Street, Decatur, IL 62522" in form  # where to send them
    assert [r for r in listed(clinic) if r["kind"] == "films-request"] == []  # once


def test_a_dry_run_lists_as_csv_too(clinic: Cli, tmp_path: Path):
    import csv
    import io

    patient(clinic, "P1")
    exam(clinic, "P1", "2025-07-10")
    out = tmp_path / "letters.csv"
    clinic("letters", "--dry-run", "--format", "csv", "--as-of", AS_OF, "-o", str(out))
    listing = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
    rows = [r for r in listing if r["patient_id"] == "P1"]
    assert [(r["kind"], r["due"]) for r in rows] == [("result", "2025-08-09")]


def test_a_letter_lacking_an_address_is_listed_with_the_reason_not_produced(
    clinic: Cli, tmp_path: Path
):
    patient(clinic, "P1", address=None)
    exam(clinic, "P1", "2025-07-10")
    (row,) = listed(clinic)
    assert row["problem"] == "the patient has no postal address"
    result = clinic("letters", "--as-of", AS_OF, "-o", str(tmp_path / "l.pdf"))
    assert "Not produced: P1 result: the patient has no postal address" in result.stderr
    assert "produced 0 letters" in result.stdout and "not produced 1" in result.stdout
    assert contacts(clinic, "P1") == []
    clinic("patient", "edit", "P1", "--address", ADDRESS)
    assert "produced 1 letters" in produce(clinic, tmp_path / "l.pdf")


def test_the_desk_writes_one_letter_now_and_the_batch_then_skips_it(clinic: Cli, tmp_path: Path):
    patient(clinic, "P1")
    exam(clinic, "P1", "2025-07-10", "2")
    out = tmp_path / "desk.pdf"
    said = clinic("letter", "P1", "--kind", "result", "--as-of", AS_OF, "-o", str(out)).stdout
    assert "1 result letter(s), recorded as L-" in said
    assert "Ana P1" in texts(out)[0]
    assert [r for r in listed(clinic) if r["patient_id"] == "P1"] == []
    again = clinic("letter", "P1", "--kind", "result", "--as-of", AS_OF, "-o", str(out),
                   "--force").stdout  # fmt: skip
    assert "recorded as L-" in again  # a reprint: recorded too
    assert contacts(clinic, "P1") == ["letter-sent", "letter-sent"]
    refused = clinic("letter", "P1", "--kind", "overdue", "--as-of", AS_OF,
                     "-o", str(tmp_path / "x.pdf"), code=1)  # fmt: skip
    assert "not overdue; write a reminder instead" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) == 1
    missing = clinic("letter", "P1", "--kind", "result", "--exam", "999", "--as-of", AS_OF,
                     "-o", str(tmp_path / "x.pdf"), code=1)  # fmt: skip
    assert "has no exam 999" in missing.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_the_clinic_must_be_set_and_output_rules_hold(cli: Cli, tmp_path: Path):
    cli("patient", "add", "P1", "--name", "Ana", "--address", ADDRESS)
    exam(cli, "P1", "2025-07-10")
    refused = cli("letters", "--as-of", AS_OF, "-o", str(tmp_path / "l.pdf"), code=1)
    assert "clinic set" in refused.stderr and not (tmp_path / "l.pdf").exists()
    assert "-o FILE.pdf" in cli("letters", "--as-of", AS_OF, code=2).stderr
    assert "add --dry-run" in cli("letters", "--format", "json", "-o", "x", code=2).stderr
    future = cli("letters", "--as-of", "2999-01-01", "-o", str(tmp_path / "l.pdf"), code=2)
    assert "after today" in future.stderr
    existing = tmp_path / "old.pdf"
    existing.write_text("keep")
    cli("clinic", "set", "--name", "C", "--address", "1 A St\\nTown")
    assert "--force" in cli("letters", "--as-of", AS_OF, "-o", str(existing), code=1).stderr
    assert existing.read_text() == "keep"


def test_the_clinic_replaces_the_density_statement(clinic: Cli, tmp_path: Path):
    own = tmp_path / "density.toml"
    own.write_text('not_dense = "Your tissue is not dense (our words)."\n'
                   'dense = "Your tissue is dense (our words)."\n')  # fmt: skip
    clinic("clinic", "set", "--density-statements", str(own))
    shown = json.loads(clinic("clinic", "show", "--format", "json").stdout)
    assert shown["density_statements"] == "the clinic's own"
    patient(clinic, "P1")
    exam(clinic, "P1", "2025-07-10", density="d")
    out = tmp_path / "l.pdf"
    produce(clinic, out, "--kind", "result")
    (page,) = texts(out)
    assert "Your tissue is dense (our words)." in page
    assert "Dense tissue makes it harder" not in page
    clinic("clinic", "set", "--federal-density")
    assert (
        "federal"
        in json.loads(clinic("clinic", "show", "--format", "json").stdout)["density_statements"]
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('dense = "only one"\n')
    assert "exactly two texts" in clinic("clinic", "set", "--density-statements", str(bad),
                                         code=1).stderr  # fmt: skip


def test_facility_filter_and_a4_paper(clinic: Cli, tmp_path: Path):
    for name, where in (("P1", "Northside Imaging"), ("P2", "Southside Clinic")):
        patient(clinic, name)
        exam(clinic, name, "2025-07-10", facility=where)
    rows = listed(clinic, "--facility", "southside  clinic")
    assert {r["patient_id"] for r in rows} == {"P2"}
    assert "did you mean" in clinic("letters", "--dry-run", "--facility", "Southside",
                                    "--as-of", AS_OF, code=1).stderr  # fmt: skip
    clinic("clinic", "set", "--paper", "a4")
    out = tmp_path / "a4.pdf"
    produce(clinic, out, "--facility", "Southside Clinic", "--kind", "result")
    box = PdfReader(out).pages[0].mediabox
    assert round(float(box.width)) == 595  # A4


def test_first_lines_and_window_of_real_letters_name_no_diagnosis(clinic: Cli, tmp_path: Path):
    for n, category in enumerate(("4c", "5", "0", "3", "2")):
        patient(clinic, f"P{n + 1}")
        exam(clinic, f"P{n + 1}", "2025-07-10", category, kind="diagnostic", density="d")
    out = tmp_path / "l.pdf"
    produce(clinic, out, "--kind", "result")
    pages = placed_text(out.read_bytes())
    assert len(pages) == 5
    for page in pages:
        result_heading = next(p.top for p in page if p.text == "Your result")
        top = " ".join(region(page, 0, result_heading)).lower()
        assert [word for word in REVEALING if word in top] == [], top


def test_real_letters_of_every_kind_read_at_grade_8_or_below(clinic: Cli):
    """Issue 14 point 7 on letters made from stored records (the store's facts, the one
    converter, the wording): each kind at or below Flesch-Kincaid grade 8."""
    import textstat

    from followup.present.letter_blocks import plain_text
    from followup.present.letter_source import facts_of
    from followup.present.letter_text import letter_content
    from followup.store.database import open_database
    from followup.store.letters_due import LetterQuery, due_letters
    from followup.store.policies import policy_in_force

    patient(clinic, "P1")
    exam(clinic, "P1", "2024-06-12")
    exam(clinic, "P1", "2025-07-10", "4c", facility="Southside Clinic", kind="diagnostic",
         density="c")  # fmt: skip
    patient(clinic, "P2")
    exam(clinic, "P2", "2024-08-01")  # a reminder on 2025-07-15
    patient(clinic, "P3")
    exam(clinic, "P3", "2024-07-14")  # overdue-1 on 2025-07-15
    day = D(AS_OF)
    database = open_database(clinic.url)
    try:
        with database.transaction(write=False) as session:
            policy = policy_in_force(session)
            query = LetterQuery(day, day)
            letters = [letter for batch in due_letters(session, query, policy) for letter in batch]
            kinds = sorted({letter.kind for letter in letters})
            assert kinds == ["films-request", "overdue", "reminder", "result"]
            for letter in letters:
                text = plain_text(letter_content(facts_of(letter, day), "Lakeside Breast Center"))
                assert textstat.flesch_kincaid_grade(text) <= 8.0, text
    finally:
        database.close()


def test_letter_ids_are_never_reused(sqlite_cli: Cli, tmp_path: Path):
    """NEVER_REUSED (DEVELOPERS.md): a letter's reference is its log id, so no later letter
    may get the id of one removed from the log (SQLite's AUTOINCREMENT)."""
    import sqlite3

    cli = sqlite_cli
    cli("clinic", "set", "--name", "C", "--address", "1 A St\\nTown")
    cli("patient", "add", "P1", "--name", "Ana", "--address", ADDRESS)
    exam(cli, "P1", "2025-07-10")
    cli("facility", "edit", "Northside Imaging", "--phone", "555", "--address", "2 B St\\nTown")
    said = cli("letter", "P1", "--kind", "result", "--as-of", AS_OF, "-o", str(tmp_path / "a.pdf"))
    assert "recorded as L-1." in said.stdout
    with sqlite3.connect(cli.url) as conn:
        assert (
            "AUTOINCREMENT"
            in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'letters'").fetchone()[0]
        )
        conn.execute("DELETE FROM letters")
    again = cli("letter", "P1", "--kind", "result", "--as-of", AS_OF, "-o", str(tmp_path / "b.pdf"))
    assert "recorded as L-2." in again.stdout
