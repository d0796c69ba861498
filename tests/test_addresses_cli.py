"""Addresses letters need (issue 14 point 5), stored in the database, on SQLite and
PostgreSQL: the patient's postal address, each facility's address and telephone number (and
its name), the clinic that sends the letters."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli


def show(cli: Cli, *args: str) -> dict:
    return json.loads(cli(*args, "--format", "json").stdout)


def test_patient_address_typed_with_line_breaks_or_backslash_n(cli: Cli):
    cli("patient", "add", "P1", "--address", "  12 Main St \\n\\nSpringfield, IL 62701  ")
    assert show(cli, "patient", "show", "P1")["address"] == "12 Main St\nSpringfield, IL 62701"
    assert "            Springfield, IL 62701" in cli("patient", "show", "P1").stdout
    cli("patient", "edit", "P1", "--address", "PO Box 9\nShelbyville")
    assert show(cli, "patient", "show", "P1")["address"] == "PO Box 9\nShelbyville"
    cli("patient", "edit", "P1", "--address", "")
    assert show(cli, "patient", "show", "P1")["address"] is None


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("\\n".join(f"line {i}" for i in range(6)), "at most 5"),
        ("x" * 101, "keep each line to 100"),
        ("12 Main St\tApt 3", "holds a tab"),
        ("12 Main St\x1b[2J", "control character"),
    ],
)
def test_an_address_a_letter_cannot_print_is_refused(cli: Cli, address: str, message: str):
    assert message in cli("patient", "add", "P1", "--address", address, code=1).stderr
    cli("init")
    assert show(cli, "patient", "list") == []


def test_facility_list_show_edit(cli: Cli):
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", "--facility", "Northside Imaging",
        "--category", "2")  # fmt: skip
    assert show(cli, "facility", "list") == [
        {"name": "Northside Imaging", "address": None, "phone": None, "exams": 1}
    ]
    out = cli("facility", "edit", "northside  imaging", "--phone", "+1 555 0100",
              "--address", "1 Elm St\\nSpringfield").stdout  # fmt: skip
    assert out == "Updated facility Northside Imaging: address, phone.\n"
    assert show(cli, "facility", "show", "NORTHSIDE IMAGING") == {
        "name": "Northside Imaging",
        "address": "1 Elm St\nSpringfield",
        "phone": "+1 555 0100",
    }
    assert (
        "unchanged" in cli("facility", "edit", "Northside Imaging", "--phone", "+1 555 0100").stdout
    )
    cli("facility", "edit", "Northside Imaging", "--phone", "")
    assert show(cli, "facility", "show", "Northside Imaging")["phone"] is None
    assert "did you mean 'Northside Imaging'" in cli("facility", "show", "Northside", code=1).stderr
    assert "nothing to change" in cli("facility", "edit", "Northside Imaging", code=2).stderr
    log = json.loads(cli("audit-log", "--format", "json").stdout)
    assert [e["action"] for e in log][-2:] == ["facility.edit", "facility.edit"]
    assert log[-2]["after"]["phone"] == "+1 555 0100" and log[-2]["patient_id"] is None


def test_renaming_a_facility_rewrites_the_plans_that_name_it(cli: Cli):
    cli("patient", "add", "P1")
    for day, place in (("2024-01-10", "Lakeside"), ("2025-01-10", "Northside")):
        cli("exam", "add", "P1", "--date", day, "--facility", place, "--category", "2")
    flags = json.loads(cli("flags", "--format", "json").stdout)
    assert any("Lakeside" in f["message"] for f in flags)
    cli("facility", "edit", "lakeside", "--rename", "Lakeside Breast Center")
    flags = json.loads(cli("flags", "--format", "json").stdout)
    assert any("Lakeside Breast Center" in f["message"] for f in flags)
    assert show(cli, "status", "P1")["exams"][0]["facility"] == "Lakeside Breast Center"
    refused = cli("facility", "edit", "Lakeside Breast Center", "--rename", "NORTHSIDE", code=1)
    assert "'Northside' is recorded already" in refused.stderr
    cli("facility", "edit", "northside", "--rename", "NorthSide")  # its own spelling: fine
    assert [f["name"] for f in show(cli, "facility", "list")] == ["Lakeside Breast Center",
                                                                 "NorthSide"]  # fmt: skip


def test_clinic_show_and_set(cli: Cli):
    cli("init")
    federal = "federal (21 CFR 900.12(c)(2)(iii), (iv))"
    letters = {"density_statements": federal, "paper": "letter"}
    assert show(cli, "clinic", "show") == {"name": None, "address": None, "phone": None, **letters}
    cli("clinic", "set", "--name", " Springfield  Breast Care ", "--phone", "+1 555 0199")
    cli("clinic", "set", "--address", "PO Box 12\\nSpringfield, IL 62701")
    assert show(cli, "clinic", "show") == {
        "name": "Springfield Breast Care",
        "address": "PO Box 12\nSpringfield, IL 62701",
        "phone": "+1 555 0199",
        **letters,
    }
    assert "PO Box 12" in cli("clinic", "show").stdout
    assert "unchanged" in cli("clinic", "set", "--phone", "+1 555 0199").stdout
    assert "holds a tab" in cli("clinic", "set", "--address", "a\tb", code=1).stderr
    assert "nothing to change" in cli("clinic", "set", code=2).stderr
    actions = [e["action"] for e in json.loads(cli("audit-log", "--format", "json").stdout)]
    assert actions == ["clinic.set", "clinic.set"]
