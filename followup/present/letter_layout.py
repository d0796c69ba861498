"""Where the words of a letter go: paper geometry, line breaking, pages.

Pure computation over the bundled font's metrics: :func:`layout` turns a
:class:`~followup.present.letter_blocks.LetterContent` into pages of positioned text runs and
rules, which :mod:`followup.present.letter_pdf` draws. Positions are points (72 to the inch)
from the top-left corner of the page; the geometry of each paper is documented on
:data:`PAPERS` and in :mod:`followup.present.letter_pdf`.

Page breaks keep at least two lines of a paragraph on either side, keep a heading with the
first two lines of what follows, and never split a signature line, a bullet or the closing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from followup.present.letter_blocks import NBSP, Block, LetterContent, Sheet, Span, Style
from followup.present.letter_facts import MAX_ADDRESS_LINES, LetterError

REGULAR = "FollowupSans"
BOLD = "FollowupSans-Bold"
MM = 72 / 25.4
INCH = 72.0

BODY_SIZE = 11.0
LEADING = 14.0
HEADING_SIZE = 15.0
SUBHEADING_SIZE = 12.0
ADDRESS_SIZE = 10.0
ADDRESS_LEADING = 11.0
ADDRESS_MIN_SIZE = 7.0
CONTINUATION_TOP = 0.9 * INCH  # where the body resumes on a letter's following pages


@dataclass(frozen=True)
class Paper:
    """A page size and where things go on it (points from the top-left corner)."""

    name: str
    width: float
    height: float
    left: float  # body text
    right: float
    bottom: float  # lowest body baseline
    window_x: float  # the address block
    window_top: float  # top of the window area: nothing but the address block below it
    address_top: float  # top of the name's line; the certified-mail line sits just above
    window_width: float
    return_line: bool  # the clinic's return address in small type atop the window (DIN 5008)
    body_top: float  # top of the heading; nothing but the address block above it, to here
    folds: tuple[float, ...]

    @property
    def text_width(self) -> float:
        return self.width - self.left - self.right


PAPERS = {
    # #10 window envelope: window 4 1/2" x 1 1/8", 7/8" from the left, 1/2" from the bottom.
    "letter": Paper(
        "letter",
        8.5 * INCH,
        11 * INCH,
        left=INCH,
        right=1.25 * INCH,
        bottom=11 * INCH - 0.8 * INCH,
        window_x=INCH,
        window_top=1.75 * INCH,
        address_top=(2 + 1 / 12) * INCH + ADDRESS_LEADING,
        window_width=3.75 * INCH,
        return_line=False,
        body_top=3.75 * INCH,
        folds=(11 * INCH / 3, 22 * INCH / 3),
    ),
    # DIN 5008 form B: address field 45 mm from the top, 20 mm from the left, 85 x 45 mm.
    "a4": Paper(
        "a4",
        210 * MM,
        297 * MM,
        left=25 * MM,
        right=20 * MM,
        bottom=297 * MM - 22 * MM,
        window_x=25 * MM,
        window_top=45 * MM,
        address_top=62.7 * MM,
        window_width=80 * MM,
        return_line=True,
        body_top=104 * MM,
        folds=(105 * MM, 210 * MM),
    ),
}


def paper(name: str) -> Paper:
    """The geometry of ``letter`` or ``a4``."""
    try:
        return PAPERS[name.lower()]
    except KeyError:
        raise LetterError(f"unknown paper {name!r}; use letter or a4") from None


# -- the font ---------------------------------------------------------------------------------


@cache
def fonts() -> tuple[TTFont, TTFont]:
    """The bundled fonts, read from the package once a process and registered by our names.

    ``asciiReadable`` keeps ASCII text as ASCII inside the PDF, so text extraction and
    ``grep`` on the file work for the common case.
    """
    here = files("followup.present") / "fonts"
    loaded = []
    for name, file in ((REGULAR, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        font = TTFont(name, io.BytesIO(here.joinpath(file).read_bytes()), asciiReadable=True)
        pdfmetrics.registerFont(font)
        loaded.append(font)
    return loaded[0], loaded[1]


@cache
def _covered() -> frozenset[str]:
    return frozenset(map(chr, fonts()[0].face.charToGlyph))


def unprintable(text: str) -> str:
    """The characters of ``text`` the bundled font has no glyph for (e.g. Chinese), in order."""
    missing = set(text) - _covered()
    if not missing:
        return ""
    return "".join(c for c in dict.fromkeys(text) if c in missing and not c.isspace())


_WIDTHS: dict[tuple[str, str], float] = {}


def text_width(text: str, font: str, size: float) -> float:
    """Width of ``text`` in points; measured once per word and font, then looked up."""
    key = (font, text)
    unit = _WIDTHS.get(key)
    if unit is None:
        fonts()
        unit = _WIDTHS[key] = pdfmetrics.stringWidth(text, font, 1000) / 1000
    return unit * size


def address_size(line: str, geometry: Paper) -> float | None:
    """The largest size, down to 7 pt, at which ``line`` fits the window; None if none does."""
    size = ADDRESS_SIZE
    while size >= ADDRESS_MIN_SIZE:
        if text_width(line, REGULAR, size) <= geometry.window_width:
            return size
        size -= 0.5
    return None


# -- pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Text in one font at one place: x from the left edge of the page."""

    x: float
    font: str
    size: float
    text: str


@dataclass(frozen=True)
class Line:
    y: float  # baseline, from the top of the page
    runs: tuple[Run, ...]


@dataclass
class Page:
    first_of_sheet: bool  # gets the letterhead, date and reference
    lines: list[Line] = field(default_factory=list)
    rules: list[tuple[float, float, float]] = field(default_factory=list)  # x1, x2, y


@dataclass(frozen=True)
class _Piece:
    """A laid-out block: its lines, and how it may break across pages."""

    lines: tuple[tuple[Run, ...], ...]
    leading: float
    space_before: float
    keep_with_next: bool = False
    keep_together: bool = False
    rules: tuple[tuple[float, float], ...] = ()  # field lines: x1, x2 on its one line


def _words(spans: tuple[Span, ...]) -> list[list[tuple[str, str]]]:
    """The words of the spans, each a list of (text, font) fragments: a word may change font
    mid-way (a bold date before its full stop is one word); only spaces separate words."""
    words: list[list[tuple[str, str]]] = [[]]
    for span in spans:
        font = BOLD if span.bold else REGULAR
        for i, part in enumerate(span.text.split(" ")):
            if i:
                words.append([])
            if part:
                words[-1].append((part, font))
    return [w for w in words if w]


def _wrap(
    spans: tuple[Span, ...], width: float, size: float, left: float = 0.0, indent: float = 0.0
) -> list[tuple[Run, ...]]:
    """Greedy line filling from ``left``; runs of one font merged, so a line is a few text
    operators."""
    lines: list[list[list]] = [[]]  # runs as [x, font, text] while they grow
    x = indent
    for word in _words(spans):
        w = sum(text_width(t, f, size) for t, f in word)
        line = lines[-1]
        gap = text_width(" ", word[0][1], size) if line else 0.0
        if line and x + gap + w > width:
            line = []
            lines.append(line)
            x, gap = indent, 0.0
        for text, font in word:
            if line and line[-1][1] == font:
                line[-1][2] += (" " if gap else "") + text
            else:
                line.append([x + gap, font, text])
            x += gap + text_width(text, font, size)
            gap = 0.0
    return [tuple(Run(left + rx, font, size, text) for rx, font, text in line) for line in lines]


@lru_cache(maxsize=4096)
def _piece(block: Block, width: float, left: float) -> _Piece:
    """A block laid out from the margin ``left``; cached, since most paragraphs recur from
    letter to letter."""
    style = block.style
    if style is Style.SUBHEADING:
        bolded = tuple(Span(s.text, True) for s in block.spans)
        heading = tuple(_wrap(bolded, width, SUBHEADING_SIZE, left))
        return _Piece(heading, LEADING + 2, 8.0, True, True)
    if style is Style.BULLET:
        item = _wrap(block.spans, width, BODY_SIZE, left, indent=18.0)
        item[0] = (Run(left + 6.0, REGULAR, BODY_SIZE, "•"), *item[0])
        return _Piece(tuple(item), LEADING, 0.0, keep_together=True)
    if style is Style.FIELDS:
        return _fields(block, width, left)
    lines = tuple(_wrap(block.spans, width, BODY_SIZE, left))
    if style is Style.CLOSING:
        return _Piece(lines, LEADING, 12.0, keep_with_next=True, keep_together=True)
    if style is Style.LINE:
        return _Piece(lines, LEADING, 0.0, keep_together=True)
    return _Piece(lines, LEADING, 6.0)


def _fields(block: Block, width: float, left: float) -> _Piece:
    """Labels, each with a line to write on: the first (the signature) gets twice the room."""
    shares = [2.0 if i == 0 and len(block.spans) > 1 else 1.0 for i in range(len(block.spans))]
    unit = width / sum(shares)
    runs, rules, x = [], [], left
    for span, share in zip(block.spans, shares, strict=True):
        label = span.text.replace(NBSP, " ")
        runs.append(Run(x, REGULAR, BODY_SIZE, label))
        start = x + text_width(label, REGULAR, BODY_SIZE) + 6
        rules.append((start, max(x + share * unit - 18, start + 36)))
        x += share * unit
    return _Piece((tuple(runs),), LEADING, 26.0, keep_together=True, rules=tuple(rules))


class _Flow:
    """Places pieces down the pages of one sheet, breaking pages where the rules allow."""

    def __init__(self, geometry: Paper, pages: list[Page], y: float) -> None:
        self.paper = geometry
        self.pages = pages
        self.y = y

    def place(self, pieces: list[_Piece]) -> None:
        for i, piece in enumerate(pieces):
            following = pieces[i + 1] if i + 1 < len(pieces) else None
            self.y += piece.space_before
            if self._must_break(piece, following):
                self._new_page()
            self._emit_splitting(piece)

    def _must_break(self, piece: _Piece, following: _Piece | None) -> bool:
        if self.y <= CONTINUATION_TOP + piece.space_before:
            return False  # already at the top of a page: breaking would not help
        n, room = len(piece.lines), self._room(piece.leading)
        if piece.keep_with_next and following is not None:
            rest = len(following.lines)
            return n + (rest if following.keep_together else min(2, rest)) > room
        if n <= room:
            return False
        return piece.keep_together or n < 4 or room < 2

    def _emit_splitting(self, piece: _Piece) -> None:
        """Lines down to the bottom, then on to new pages, leaving no widow and no orphan."""
        lines = piece.lines
        while len(lines) > (room := self._room(piece.leading)):
            if room >= 2 and len(lines) - room >= 2:
                k = room
            elif room >= 2 and len(lines) >= 4:
                k = len(lines) - 2  # two lines go over, not one
            else:
                k = room if self._at_top() else 0  # a page shorter than the piece: fill it
            self._emit(piece, lines[:k])
            lines = lines[k:]
            self._new_page()
        self._emit(piece, lines)

    def _at_top(self) -> bool:
        return not self.pages[-1].first_of_sheet and not self.pages[-1].lines

    def _room(self, leading: float) -> int:
        return max(int((self.paper.bottom - self.y) // leading) + 1, 0)

    def _new_page(self) -> None:
        self.pages.append(Page(first_of_sheet=False))
        self.y = CONTINUATION_TOP

    def _emit(self, piece: _Piece, lines: tuple[tuple[Run, ...], ...]) -> None:
        page = self.pages[-1]
        for runs in lines:
            self.y += piece.leading
            page.lines.append(Line(self.y, runs))
            page.rules.extend((x1, x2, self.y + 2) for x1, x2 in piece.rules)


def _layout_sheet(sheet: Sheet, geometry: Paper, return_line: str, pages: list[Page]) -> None:
    """One sheet: a first page with the window block and heading, then the body, flowing."""
    page = Page(first_of_sheet=True)
    pages.append(page)
    page.lines.extend(_window_block(sheet, geometry, return_line))
    y = geometry.body_top
    width, left = geometry.text_width, geometry.left
    for runs in _wrap((Span(sheet.heading, True),), width, HEADING_SIZE, left):
        y += HEADING_SIZE + 3
        page.lines.append(Line(y, runs))
    flow = _Flow(geometry, pages, y + 4)
    flow.place([_piece(block, width, left) for block in sheet.blocks])


DATE_COLUMN = 2.25 * INCH  # the date and reference, right of the clinic's name
NAME_SIZE = 14.0
NAME_MIN_SIZE = 10.0


def name_lines(name: str, geometry: Paper) -> list[tuple[str, float]]:
    """The clinic's name atop the letterhead, left of the date and reference: 14 pt,
    smaller (down to 10 pt) when it is long, on more lines when even that does not fit."""
    name, room = " ".join(name.split()), geometry.text_width - DATE_COLUMN
    size = NAME_SIZE
    while size > NAME_MIN_SIZE and text_width(name, BOLD, size) > room:
        size -= 0.5
    lines = [""]
    for word in name.split(" "):
        joined = f"{lines[-1]} {word}".strip()
        if lines[-1] and text_width(joined, BOLD, size) > room:
            lines.append(word)
        else:
            lines[-1] = joined
    return [(line, size) for line in lines]


RETURN_SIZE = 6.5
RETURN_MIN_SIZE = 5.5


def return_line(name: str, address: tuple[str, ...], geometry: Paper) -> str:
    """The return address atop the window (DIN 5008): name and address on one line, or, when
    that would not fit at 5.5 pt, the name and the address's last line (the town), or the
    name alone."""
    choices = [[name, *address], [name, *address[-1:]], [name]]
    for parts in choices:
        text = " · ".join(parts)
        if text_width(text, REGULAR, RETURN_MIN_SIZE) <= geometry.window_width:
            return text
    return name


def _window_block(sheet: Sheet, geometry: Paper, return_line: str) -> list[Line]:
    """The return line (A4), the certified-mail line, the name and the address lines.

    Every address starts at ``address_top`` whether or not a mark is printed above it, so
    all the addresses of a batch sit where the envelope's window is.
    """
    x, lines = geometry.window_x, []
    if geometry.return_line and return_line:
        fit = RETURN_SIZE * geometry.window_width / text_width(return_line, REGULAR, RETURN_SIZE)
        size = min(RETURN_SIZE, fit)
        lines.append(Line(geometry.window_top + 3.5 * MM, (Run(x, REGULAR, size, return_line),)))
    if sheet.mark:
        baseline = geometry.address_top - ADDRESS_LEADING + _BASELINE
        lines.append(Line(baseline, (Run(x, BOLD, ADDRESS_SIZE, sheet.mark),)))
    for i, (text, size) in enumerate(window_lines(sheet.recipient, geometry)):
        baseline = geometry.address_top + i * ADDRESS_LEADING + _BASELINE
        lines.append(Line(baseline, (Run(x, REGULAR, size, text),)))
    return lines


def window_lines(recipient: tuple[str, ...], geometry: Paper) -> list[tuple[str, float]]:
    """The window's lines and their sizes: each line as large as fits, down to 7 pt; a line
    that would have to shrink (a long facility name) goes on two lines of the full size
    while the window has room for them (a name and five lines)."""
    room = 1 + MAX_ADDRESS_LINES - len(recipient)
    shown: list[str] = []
    for text in recipient:
        parts = _split_to_fit(text, geometry) if room > 0 else None
        if parts is None:
            shown.append(text)
        else:
            shown += parts
            room -= 1
    return [(text, address_size(text, geometry) or ADDRESS_MIN_SIZE) for text in shown]


def _split_to_fit(text: str, geometry: Paper) -> tuple[str, str] | None:
    """``text`` as two lines that each fit the window at the full size, the first as long as
    it can be; None when it fits on one line already, or cannot be split so."""
    if address_size(text, geometry) == ADDRESS_SIZE:
        return None
    words = text.split(" ")
    for cut in range(len(words) - 1, 0, -1):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        if address_size(head, geometry) == ADDRESS_SIZE:
            return (head, tail) if address_size(tail, geometry) == ADDRESS_SIZE else None
    return None


_BASELINE = ADDRESS_LEADING - 2.5  # from the top of an address line's box to its baseline


def layout(content: LetterContent, geometry: Paper, return_line: str = "") -> list[Page]:
    """All pages of one letter, each sheet from a new page."""
    pages: list[Page] = []
    for sheet in content.sheets:
        _layout_sheet(sheet, geometry, return_line, pages)
    return pages
