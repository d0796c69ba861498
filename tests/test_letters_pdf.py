"""The letters as PDF (issue 14 points 6 and 7): the envelope window shows only the address,
the first lines reveal nothing, batches start each letter on a new page, long letters number
their pages, Unicode names print, and pdftoppm renders every page."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from letters_support import (
    DAY,
    PATIENT,
    SENDER,
    films_facts,
    ladder_facts,
    page_text,
    placed_text,
    region,
    result_facts,
)
from pypdf import PdfReader

from followup.present.letter_blocks import LetterContent, Sheet, heading, para
from followup.present.letter_facts import (
    ACTIONS,
    CATEGORIES,
    Address,
    FacilityContact,
    LetterError,
    LetterKind,
    Recipient,
)
from followup.present.letter_layout import (
    ADDRESS_SIZE,
    BOLD,
    DATE_COLUMN,
    PAPERS,
    SUBHEADING_SIZE,
    layout,
    name_lines,
    text_width,
    window_lines,
)
from followup.present.letter_pdf import letter_problems, render_letters
from followup.present.letter_samples import sample_letters, sample_letters_pdf
from followup.present.letter_text import FEDERAL_DENSITY, DensityStatements, letter_content

LETTER = PAPERS["letter"]
# Words that would give a result away; none may show in the window or the first lines.
REVEALING = (
    "cancer",
    "benign",
    "biops",
    "suspicious",
    "malignan",
    "bi-rads",
    "dense",
    "density",
    "abnormal",
    "result is",
    "not normal",
    "lump",
    "calcification",
    "surgeon",
    "incomplete",
)


def render(*letters, **options) -> bytes:
    return render_letters(letters, SENDER, **options)


def window(page, geometry=LETTER) -> list[str]:
    """What can show through the envelope window: the band from its top to the body."""
    return region(page, geometry.window_top, geometry.body_top)


@pytest.mark.parametrize("paper", ["letter", "a4"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_window_shows_only_the_address(category, paper):
    geometry = PAPERS[paper]
    (first,) = placed_text(render(result_facts(category, "biopsy"), paper_name=paper))
    shown = window(first, geometry)
    address = [PATIENT.name, *PATIENT.address.lines]
    if geometry.return_line:
        assert shown[0].startswith("Lakeside Breast Center · 400 Harbor Road")
        shown = shown[1:]
    assert shown == address


@pytest.mark.parametrize("category", CATEGORIES)
def test_first_lines_reveal_nothing(category):
    """Above the "Your result" heading: letterhead, window, heading, greeting, opening."""
    (first,) = placed_text(render(result_facts(category, "biopsy", birads="4C", density="d")))
    result_heading = next(p.top for p in first if p.text == "Your result")
    top = " ".join(region(first, 0, result_heading)).lower()
    assert "your mammogram results" in top and "dear" in top
    assert [w for w in REVEALING if w in top] == []


@pytest.mark.parametrize("action", ACTIONS[:-1])  # treatment has no reminders
@pytest.mark.parametrize(
    ("kind", "step", "steps"),
    [(LetterKind.REMINDER, None, None), (LetterKind.OVERDUE, 2, 3), (LetterKind.OVERDUE, 3, 3)],
)
def test_ladder_letters_reveal_nothing_in_the_window_or_first_lines(kind, step, steps, action):
    """The window, the heading, the greeting and the first paragraph of a reminder or an
    overdue letter: the same neutral words whatever is due."""
    facts = ladder_facts(kind, action, step, steps, certified=step == 3)
    (first,) = placed_text(render(facts))
    tops = sorted(p.top for p in first if p.top > LETTER.body_top)
    top = " ".join(region(first, 0, tops[0] + 4 * 14)).lower()
    assert "dear" in top
    assert [w for w in REVEALING if w in top] == []


def test_films_request_cover_reveals_nothing_in_the_window_or_first_lines():
    cover, form = placed_text(render(films_facts()))
    tops = sorted(p.top for p in cover if p.top > LETTER.body_top)
    top = " ".join(region(cover, 0, tops[0] + 4 * 14)).lower()
    assert "dear" in top and [w for w in REVEALING if w in top] == []
    assert [w for w in REVEALING if w in page_text(form).lower()] == []


def test_the_revealing_check_can_fail():
    """The same reading finds a result where one is printed, so the test above has teeth."""
    (first,) = placed_text(render(result_facts("suspicious", "biopsy", birads="4C")))
    whole = page_text(first).lower()
    assert "biopsy" in whole and "bi-rads 4c" in whole


def test_window_of_a_certified_letter_carries_the_mark_first():
    certified = ladder_facts(LetterKind.OVERDUE, step=3, steps=3, certified=True)
    plain = ladder_facts(LetterKind.OVERDUE, step=1, steps=3)
    marked, unmarked = placed_text(render(certified, plain))
    assert window(marked) == ["CERTIFIED MAIL", PATIENT.name, *PATIENT.address.lines]
    assert window(unmarked) == [PATIENT.name, *PATIENT.address.lines]
    # the address starts at the same place with or without the mark
    name_top = [p.top for page in (marked, unmarked) for p in page if p.text == PATIENT.name]
    assert name_top[0] == name_top[1]
    (registered,) = placed_text(render(certified, mark="REGISTERED MAIL"))
    assert window(registered)[0] == "REGISTERED MAIL"


def test_a_batch_starts_each_letter_on_a_new_page_in_order():
    names = ["Ayşe Yılmaz", "Ольга Кузнецова", "Małgorzata Wróbel", "Zoë Brontë"]  # noqa: RUF001
    letters = [
        replace(result_facts(), patient=Recipient(name, Address(("1 A St", "Town, IL 62701"))))
        for name in names
    ]
    pages = placed_text(render(*letters))
    assert len(pages) == len(names)
    assert [window(page)[0] for page in pages] == names  # Unicode read back as written


def test_films_request_form_goes_to_the_holder_in_the_window():
    cover, form = placed_text(render(films_facts()))
    assert window(cover)[0] == PATIENT.name
    assert window(form) == [
        "Northgate Imaging",
        "Attn: Medical Records",
        "77 Elm Street",
        "Decatur, IL 62521",
    ]
    text = page_text(form)
    assert "June 3, 2022" in text and "Signature" in text and "Page 2 of 2" in text


LONG_NAME = "Northwestern Memorial Comprehensive Breast Imaging Center of Excellence"


def test_a_long_facility_name_takes_two_lines_of_the_window_at_full_size():
    holder = FacilityContact(
        LONG_NAME, Address(("251 East Huron Street", "Chicago, IL 60611")), "(312) 555-0100"
    )
    films = replace(films_facts().films, holder=holder)
    _, form = placed_text(render(replace(films_facts(), films=films)))
    shown = window(form)
    assert len(shown) == 4 and " ".join(shown[:2]) == LONG_NAME
    sizes = [size for _, size in window_lines((LONG_NAME, "1 A St"), LETTER)]
    assert sizes == [ADDRESS_SIZE] * 3
    full = (LONG_NAME, "1", "2", "3", "4", "5")  # no room for a sixth line: it shrinks instead
    (first, size), *_ = window_lines(full, LETTER)
    assert first == LONG_NAME and size < ADDRESS_SIZE


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_a_long_clinic_name_stays_clear_of_the_date(paper):
    geometry = PAPERS[paper]
    room = geometry.text_width - DATE_COLUMN
    for name in ("Lakeside", "Saint Mary-Elizabeth Regional Breast Health Follow-up Service"):
        lines = name_lines(name, geometry)
        assert " ".join(text for text, _ in lines) == name
        assert all(text_width(text, BOLD, size) <= room for text, size in lines)
    sender = replace(SENDER, name="Saint Mary-Elizabeth Regional Breast Health Follow-up Service")
    (page,) = placed_text(render_letters([result_facts()], sender, paper_name=paper))
    assert "July 15, 2025" in page_text(page)


def test_signature_line_is_drawn():
    pdf = render(films_facts())
    form = PdfReader(io.BytesIO(pdf)).pages[1].get_contents().get_data()
    strokes = [line for line in form.split(b"\n") if line.endswith(b" l S")]
    assert len(strokes) >= 2 + len(LETTER.folds)  # signature, date, the fold marks


def test_a_letter_that_runs_over_numbers_its_pages():
    """A clinic whose state adds its own density notice to the federal one: two pages."""
    state = " ".join(["Your state also asks us to tell you more about dense breast tissue."] * 30)
    own = DensityStatements(FEDERAL_DENSITY.not_dense + " " + state, FEDERAL_DENSITY.dense)
    pages = placed_text(render(result_facts(density="a"), density=own))
    assert len(pages) >= 2
    total = len(pages)
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {total}" in page_text(page)
    for page in pages[1:]:
        assert f"{PATIENT.name} · July 15, 2025" in page_text(page)
        assert "Your mammogram results" not in page_text(page)  # no new letterhead
    assert "Sincerely," in page_text(pages[-1])


def test_many_film_dates_are_summed_up_on_the_cover_and_all_listed_on_the_form():
    many = tuple(date(2000, 1, 1) + timedelta(days=200 * i) for i in range(45))
    cover, form = placed_text(render(films_facts(many)))
    assert "45 dates, from January 1, 2000 to February 4, 2024" in page_text(cover)
    form_text = page_text(form)
    for day in ("January 1, 2000", "July 19, 2000", "February 4, 2024"):
        assert day in form_text
    assert "Signature" in form_text


def test_one_page_letters_have_no_page_number():
    (page,) = placed_text(render(result_facts()))
    assert "Page 1" not in page_text(page)


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_paper_sizes(paper):
    reader = PdfReader(io.BytesIO(render(result_facts(), paper_name=paper)))
    box = reader.pages[0].mediabox
    expected = {"letter": (612, 792), "a4": (595.28, 841.89)}[paper]
    assert (round(float(box.width), 2), round(float(box.height), 2)) == expected


def test_unknown_paper_is_refused():
    with pytest.raises(LetterError, match="use letter or a4"):
        render(result_facts(), paper_name="legal")


def test_names_the_font_cannot_print_are_listed_not_printed():
    chinese = replace(result_facts(), patient=Recipient("王秀英", PATIENT.address))
    assert "cannot print (王秀英)" in letter_problems(chinese, SENDER)[0]
    with pytest.raises(LetterError, match=r"letter 2 \(reference R-1\): .*cannot print"):
        render(result_facts(), chinese)


def test_address_lines_too_long_for_the_window_are_listed():
    long_line = "Apartment 1234, Building C, The Very Long Name Residential Complex of Springfield"
    facts = replace(result_facts(), patient=Recipient("A B", Address((long_line, "Town"))))
    assert "too long for the envelope window" in letter_problems(facts, SENDER)[0]
    assert letter_problems(result_facts(), SENDER) == ()


def test_missing_facts_raise_with_the_reason():
    with pytest.raises(LetterError, match="the patient has no postal address"):
        render(replace(result_facts(), patient=Recipient("A B", None)))


def test_same_letters_same_bytes():
    assert render(result_facts(), films_facts()) == render(result_facts(), films_facts())


def test_metadata_names_no_patient():
    info = PdfReader(io.BytesIO(render(result_facts("suspicious", "biopsy")))).metadata
    assert info.title == "Letters"
    assert PATIENT.name not in str(dict(info)) and "suspicious" not in str(dict(info))


def _filler(lines: int) -> Sheet:
    """One-line paragraphs, then a paragraph of several lines, a heading and its text."""
    blocks = [para(f"Filler {i}.") for i in range(lines)]
    blocks += [para("alpha " * 70), heading("Heading"), para("omega " * 50)]
    return Sheet(("A B", "1 A St"), None, "Title", tuple(blocks))


def _lines_with(page, word: str) -> int:
    return sum(word in run.text for line in page.lines for run in line.runs)


@pytest.mark.parametrize("fillers", range(8, 32))
def test_page_breaks_leave_no_widow_orphan_or_lonely_heading(fillers):
    content = LetterContent((_filler(fillers),), "July 15, 2025", None, "A B")
    pages = layout(content, LETTER)
    for word in ("alpha", "omega"):
        counts = [_lines_with(page, word) for page in pages]
        assert all(n == 0 or n >= 2 for n in counts), (word, counts)
    for page in pages:
        assert page.lines[-1].runs[0].size != SUBHEADING_SIZE, "a heading ends the page"


def test_page_breaks_do_split_paragraphs():
    """Among the cases above some paragraph is split, so the rule is exercised."""
    splits = 0
    for fillers in range(8, 32):
        pages = layout(LetterContent((_filler(fillers),), "x", None, "A B"), LETTER)
        splits += sum(1 for page in pages if 0 < _lines_with(page, "alpha") < 6)
    assert splits >= 3


def test_sample_letters_are_one_of_each_kind():
    kinds = [facts.kind for facts in sample_letters()]
    assert sorted(kinds) == sorted(LetterKind)
    pages = placed_text(sample_letters_pdf())
    assert len(pages) == 5  # the films request is a cover letter and a form
    assert any("CERTIFIED MAIL" in window(page) for page in pages)
    assert placed_text(sample_letters_pdf("a4"))


def test_every_letter_fits_one_page_but_the_films_request():
    for facts in sample_letters():
        content = letter_content(facts, SENDER.name)
        assert len(layout(content, LETTER)) == len(content.sheets)


@pytest.fixture(scope="module")
def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed; the PNG rendering is not checked")
    return found


def test_pdftoppm_renders_every_page(pdftoppm, tmp_path):
    pdf = tmp_path / "letters.pdf"
    pdf.write_bytes(sample_letters_pdf())
    subprocess.run([pdftoppm, "-r", "50", "-png", pdf, tmp_path / "page"], check=True, timeout=120)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 5
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


def test_today_is_not_read_from_the_clock():
    """The date printed is the letter's date, whatever day the test runs."""
    (page,) = placed_text(render(replace(result_facts(), letter_date=DAY)))
    assert "July 15, 2025" in page_text(page)


_LETTERS = st.characters(
    categories=("Lu", "Ll"),
    # Latin with its accents, Greek, Cyrillic: what the bundled font prints
    max_codepoint=0x04FF,
)
_NAMES = st.lists(st.text(_LETTERS, min_size=1, max_size=14), min_size=1, max_size=3).map(" ".join)
_LINES = st.lists(_NAMES, min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(
    name=_NAMES,
    lines=_LINES,
    category=st.sampled_from(CATEGORIES),
    action=st.sampled_from(ACTIONS),
    density=st.sampled_from([None, "a", "b", "c", "d"]),
    certified=st.booleans(),
    paper=st.sampled_from(["letter", "a4"]),
)
def test_any_printable_facts_make_a_letter_whose_window_is_the_address(
    name, lines, category, action, density, certified, paper
):
    patient = Recipient(name, Address(tuple(lines)))
    facts = replace(result_facts(category, action, density=density), patient=patient)
    facts = replace(facts, certified=certified)
    assume(not letter_problems(facts, SENDER, paper))  # e.g. a line too long for the window
    geometry = PAPERS[paper]
    first = placed_text(render(facts, paper_name=paper))[0]
    shown = window(first, geometry)[1 if geometry.return_line else 0 :]
    mark = ["CERTIFIED MAIL"] if certified else []
    # a line too long for the full size may go on two lines (window_lines): the same words
    assert " ".join(shown) == " ".join([*mark, *patient_lines(patient)])
    assert len(shown) <= len(mark) + 6


def patient_lines(patient: Recipient) -> list[str]:
    return [patient.name, *patient.address.lines] if patient.address else [patient.name]
