"""The letters as a PDF: one batch in one file, each letter from a new page.

Why ReportLab: BSD-licensed (our Apache-2.0 package can depend on it without conditions),
pure Python since 4.0 (``pip install .`` needs no compiler and no system library), kept up
by a company that lives off it, and fast: its canvas takes PDF operators as they are, and it
embeds a TrueType font as subsets of the glyphs used, once per document. In our trial of a
one-page letter it made 600 letters a second against 58 for fpdf2's ``multi_cell``. Unicode
comes from the bundled DejaVu Sans (``fonts/``; Bitstream Vera licence, DejaVu changes in the
public domain; the licence is shipped beside the fonts): Latin with its accents (é, ł, ş),
Greek and Cyrillic. :func:`letter_problems` names what it cannot print (e.g. Chinese).

Layout (see :data:`followup.present.letter_layout.PAPERS`):

- **US Letter** (the default), for a standard **#10 window envelope** (4 1/8" x 9 1/2";
  window 4 1/2" x 1 1/8", 7/8" from the left and 1/2" from the bottom), the page folded in
  thirds (fold marks at 3 2/3" and 7 1/3" on the left edge). The address block is 1" from the
  left and at most 3 3/4" wide; the certified-mail line sits 2 1/12" from the top, the name
  one line below it, then at most five address lines of 11 pt: the window shows the block
  with the letter at the bottom of the envelope, and still shows its last lines (city, ZIP)
  when the letter rides up. Nothing else is printed from 1 3/4" to 3 3/4" from the top, the
  band the window can show; the letterhead ends above it, the heading starts below it.
- **A4**, for a DL or C5/6 window envelope, after DIN 5008 form B: the address field 45 mm
  from the top and 20 mm from the left (text at 25 mm), 85 x 45 mm: the clinic's return line
  in small type, the certified (registered) mail line, then the address from 62.7 mm; fold
  marks at 105 mm and 210 mm; the body from 104 mm.

A films request's form starts on its own page with the holder's address in the window
position, so the patient can post it in a window envelope. A letter that runs over numbers
its pages ("Page 1 of 2") and repeats her name and the date atop the following pages.

Speed (issue 14 point 10): the fonts are loaded once a process; the clinic's letterhead is
drawn once a document, as a PDF form placed on each letter; paragraphs are laid out once and
reused by every letter that says the same thing; each page's text goes out as one block of
operators, each string encoded once a document (ReportLab's documented way to show text in a
subset font); page streams are compressed but not ASCII85-armoured (binary PDF streams are
read by every viewer, and the armour cost a fifth of the run).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from reportlab import rl_config
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from followup.present.letter_blocks import LetterContent, phone_text
from followup.present.letter_facts import LetterError, LetterFacts, Sender, clean, problems
from followup.present.letter_layout import (
    BOLD,
    INCH,
    REGULAR,
    Page,
    Paper,
    address_size,
    fonts,
    layout,
    name_lines,
    paper,
    return_line,
    text_width,
    unprintable,
)
from followup.present.letter_text import (
    CERTIFIED_MAIL,
    FEDERAL_DENSITY,
    DensityStatements,
    letter_content,
    reference_line,
)

SMALL = 8.5
GREY = 0.35


@dataclass(frozen=True)
class Checked:
    """A letter's facts, its words (None when the facts cannot make a letter) and why it
    cannot be printed (() when it can): :func:`check_letter` words a letter once, for the
    check and for the print."""

    facts: LetterFacts
    content: LetterContent | None
    problems: tuple[str, ...]

    def with_reference(self, reference: str) -> Checked:
        """The same letter with its reference (e.g. the letter log's id, known once the
        letter is recorded), without wording it again."""
        facts = replace(self.facts, reference=reference)
        content = self.content
        if content is not None:
            content = replace(content, reference_line=reference_line(facts))
        return Checked(facts, content, self.problems)


def check_letter(
    facts: LetterFacts,
    sender: Sender,
    paper_name: str = "letter",
    density: DensityStatements = FEDERAL_DENSITY,
    mark: str = CERTIFIED_MAIL,
) -> Checked:
    """The letter worded, and why it cannot be printed (:func:`letter_problems`)."""
    found = problems(facts, sender)
    if found:
        return Checked(facts, None, found)
    content = letter_content(facts, sender.name, density, mark)
    return Checked(facts, content, _print_problems(content, sender, paper(paper_name)))


def letter_problems(
    facts: LetterFacts,
    sender: Sender,
    paper_name: str = "letter",
    density: DensityStatements = FEDERAL_DENSITY,
) -> tuple[str, ...]:
    """Why these facts cannot make a letter, in words a coordinator can act on; () if none.

    :func:`followup.present.letter_facts.problems`, plus what only the print can tell: a name
    or address (or the clinic's own density statement) the font cannot print, an address
    line too long for the envelope window.
    """
    return check_letter(facts, sender, paper_name, density).problems


def _print_problems(content: LetterContent, sender: Sender, geometry: Paper) -> tuple[str, ...]:
    found = []
    texts = [sender.name, *sender.address.lines, sender.phone or ""]
    for sheet in content.sheets:
        texts += [*sheet.recipient, *(block.text for block in sheet.blocks)]
    missing = unprintable("".join(texts))
    if missing:
        found.append(
            f"the letter has characters the bundled font cannot print ({missing}); "
            "write the name or address in Latin, Greek or Cyrillic letters"
        )
    for sheet in content.sheets:
        found += [
            f"an address line is too long for the envelope window ({line[:24]}...); "
            "split it over two lines"
            for line in sheet.recipient
            if address_size(line, geometry) is None
        ]
    return tuple(found)


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Compressed streams without ASCII85 armour, for this document only."""
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


class _Document:
    """One PDF being written: the canvas, the letterhead form, the encoded strings."""

    def __init__(self, out: io.BytesIO, sender: Sender, geometry: Paper) -> None:
        regular, bold = fonts()
        self.fonts: dict[str, TTFont] = {REGULAR: regular, BOLD: bold}
        self.paper = geometry
        self.sender = sender
        self.canvas = Canvas(
            out,
            pagesize=(geometry.width, geometry.height),
            invariant=True,  # no timestamp or random id: the same letters, the same bytes
            pageCompression=True,
        )
        self.canvas.setTitle("Letters")  # metadata names no patient and no result
        self.canvas.setCreator("followup")
        self.canvas.setAuthor(clean(sender.name))
        self.return_line = return_line(clean(sender.name), sender.address.lines, geometry)
        self._shown: dict[tuple[str, float, str], str] = {}
        marks = [
            f"{0.2 * INCH} {geometry.height - y:.2f} m {0.4 * INCH} {geometry.height - y:.2f} l S"
            for y in geometry.folds
        ]
        self._folds = "\n".join([f"{GREY} G 0.5 w", *marks, "0 G"])
        self._letterhead()

    def _show(self, font: str, size: float, text: str) -> str:
        """``Tf``/``Tj`` operators for ``text``, encoded into the font's subsets once."""
        key = (font, size, text)
        ops = self._shown.get(key)
        if ops is None:
            # ReportLab's dynamic-font API (splitString, getSubsetInternalName) takes the
            # document, which the canvas keeps as _doc.
            face, doc = self.fonts[font], self.canvas._doc  # type: ignore[attr-defined]
            ops = self._shown[key] = " ".join(
                f"{face.getSubsetInternalName(subset, doc)} {size:g} Tf ({escapePDF(chunk)}) Tj"
                for subset, chunk in face.splitString(text, doc)
            )
        return ops

    def _letterhead(self) -> None:
        """The clinic's name, return address and phone, and a rule: drawn once, as a form."""
        c, geometry = self.canvas, self.paper
        lines = [(BOLD, size, text) for text, size in name_lines(self.sender.name, geometry)]
        lines += [(REGULAR, 9.0, line) for line in self.sender.address.lines]
        if self.sender.phone:
            lines.append((REGULAR, 9.0, f"Phone {phone_text(self.sender.phone)}"))
        c.beginForm("letterhead")
        y = 0.5 * INCH + 10
        ops = []
        for i, (font, size, text) in enumerate(lines):
            ops.append(self._at(geometry.left, y, font, size, text))
            more_name = i + 1 < len(lines) and lines[i + 1][0] == BOLD
            y += (size + 2 if more_name else max(size, 11.0)) if font == BOLD else 11.0
        c.addLiteral("BT\n" + "\n".join(ops) + "\nET")
        c.setStrokeGray(GREY)
        c.setLineWidth(0.5)
        c.line(
            geometry.left,
            geometry.height - y + 3,
            geometry.width - geometry.right,
            geometry.height - y + 3,
        )
        c.endForm()

    def _at(self, x: float, y: float, font: str, size: float, text: str) -> str:
        """Text at ``x`` and ``y`` points from the top-left corner."""
        return f"1 0 0 1 {x:.2f} {self.paper.height - y:.2f} Tm {self._show(font, size, text)}"

    def draw(self, content: LetterContent, pages: list[Page]) -> None:
        total = len(pages)
        for number, page in enumerate(pages, 1):
            self._page(content, page, number, total)

    def _page(self, content: LetterContent, page: Page, number: int, total: int) -> None:
        c = self.canvas
        if page.first_of_sheet:
            c.doForm("letterhead")
        ops = [
            self._at(run.x, line.y, run.font, run.size, run.text)
            for line in page.lines
            for run in line.runs
        ]
        ops += self._margins(content, page, number, total)
        c.addLiteral("BT\n" + "\n".join(ops) + "\nET")
        c.addLiteral(self._rules(page))
        c.showPage()

    def _margins(self, content: LetterContent, page: Page, number: int, total: int) -> list[str]:
        """Date and reference beside the letterhead, or the running head; "Page 1 of 2"."""
        geometry = self.paper
        right = geometry.width - geometry.right
        ops = []
        if page.first_of_sheet:
            y = 0.5 * INCH + 10
            for size, text in ((10.0, content.date_line), (SMALL, content.reference_line)):
                if text:
                    ops.append(
                        self._at(right - text_width(text, REGULAR, size), y, REGULAR, size, text)
                    )
                    y += 12
        else:
            head = f"{content.running_head} · {content.date_line}"
            ops.append(self._at(geometry.left, 0.5 * INCH, REGULAR, SMALL, head))
        if total > 1:
            words = f"Page {number} of {total}"
            x = (geometry.width - text_width(words, REGULAR, SMALL)) / 2
            ops.append(self._at(x, geometry.height - 0.5 * INCH, REGULAR, SMALL, words))
        return ops

    def _rules(self, page: Page) -> str:
        """The fold marks (grey) and the lines to write on (black), as path operators."""
        height = self.paper.height
        ops = [self._folds]
        ops += [
            f"{x1:.2f} {height - y:.2f} m {x2:.2f} {height - y:.2f} l S" for x1, x2, y in page.rules
        ]
        return "\n".join(ops)

    def close(self) -> None:
        self.canvas.save()


def render_letters(
    letters: Iterable[LetterFacts],
    sender: Sender,
    *,
    paper_name: str = "letter",
    density: DensityStatements = FEDERAL_DENSITY,
    mark: str = CERTIFIED_MAIL,
) -> bytes:
    """Every letter into one PDF, each from a new page, in the order given.

    ``paper_name`` is ``letter`` (US Letter, #10 window envelope) or ``a4`` (DIN 5008 B);
    ``density`` the clinic's breast density statements (the federal wording by default);
    ``mark`` the line above the address of a letter flagged ``certified``. ``letters`` may be
    a generator, so the caller can show progress as it hands them over.

    Raises :class:`LetterError` naming the first letter (by its place in the batch and its
    reference) that has :func:`letter_problems`: the integration checks them first and lists
    those letters with the reason instead of producing them.
    """
    checked = (check_letter(f, sender, paper_name, density, mark) for f in letters)
    return render_checked(checked, sender, paper_name=paper_name)


def render_checked(
    letters: Iterable[Checked], sender: Sender, *, paper_name: str = "letter"
) -> bytes:
    """:func:`render_letters` of letters already worded and checked (:func:`check_letter`,
    with the same sender and paper), so a batch that lists the letters it cannot produce
    words each letter once."""
    geometry = paper(paper_name)
    out = io.BytesIO()
    with _binary_streams():
        document = _Document(out, sender, geometry)
        for number, letter in enumerate(letters, 1):
            content = letter.content
            if letter.problems or content is None:
                reference = letter.facts.reference
                which = f" (reference {reference})" if reference else ""
                raise LetterError(f"letter {number}{which}: {'; '.join(letter.problems)}")
            document.draw(content, layout(content, geometry, document.return_line))
        document.close()
    return out.getvalue()
