"""The shape of a letter's words: sheets of blocks of spans, and helpers to write them.

A :class:`LetterContent` is what :mod:`followup.present.letter_text` writes and
:mod:`followup.present.letter_layout` lays out; :func:`plain_text` turns it into text (for the
readability check, an e-mail or a web page). Dates, telephone numbers and the end of each
address line are joined with no-break spaces so no line break splits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

from followup.present.letter_facts import Address, clean

NBSP = "\u00a0"  # keeps a date or a phone number on one line


class Style(StrEnum):
    """How a block is set: the PDF gives each its font, size and spacing."""

    SUBHEADING = "subheading"
    PARAGRAPH = "paragraph"
    BULLET = "bullet"
    LINE = "line"  # a short line right under the one before (form entries, the closing)
    FIELDS = "fields"  # labels, each followed by a line to write on (signature, date)
    CLOSING = "closing"


@dataclass(frozen=True)
class Span:
    """A run of text, bold or not (dates, phone numbers, what to do)."""

    text: str
    bold: bool = False


@dataclass(frozen=True)
class Block:
    style: Style
    spans: tuple[Span, ...]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans).replace(NBSP, " ")


@dataclass(frozen=True)
class Sheet:
    """What starts on a new page: the window block, a heading, then the body."""

    recipient: tuple[str, ...]  # the name, then the address lines
    mark: str | None  # the certified-mail line above the address, or None
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class LetterContent:
    """One letter as words: one or more sheets, the date and reference lines, a running head
    for continuation pages (her name, so a separated page finds its letter)."""

    sheets: tuple[Sheet, ...]
    date_line: str
    reference_line: str | None
    running_head: str


def para(*parts: str | Span, style: Style = Style.PARAGRAPH) -> Block:
    """A block from strings (plain) and spans (``bold(...)``)."""
    return Block(style, tuple(p if isinstance(p, Span) else Span(p) for p in parts))


def bold(text: str) -> Span:
    return Span(text, bold=True)


def heading(text: str) -> Block:
    return para(text, style=Style.SUBHEADING)


@lru_cache(maxsize=4096)
def date_text(day: date) -> str:
    """``July 15, 2025``: the month by name, no day/month order to misread; unbreakable."""
    return f"{day:%B}{NBSP}{day.day},{NBSP}{day.year}"


def phone_text(phone: str) -> str:
    return clean(phone).replace(" ", NBSP)


def address_line(address: Address | None) -> str:
    """An address on one line, for the body of a letter; each line's last two words kept
    together, so "IL 62704" or "75001 Paris" never breaks."""
    if address is None:
        return ""
    return ", ".join(NBSP.join(line.rsplit(" ", 1)) for line in address.lines)


def plain_text(content: LetterContent) -> str:
    """The letter's body as plain text (headings and paragraphs), e.g. for a readability check."""
    lines: list[str] = []
    for sheet in content.sheets:
        lines.append(sheet.heading)
        for block in sheet.blocks:
            if block.style is Style.FIELDS:
                lines.append(
                    "   ".join(f"{s.text.replace(NBSP, ' ')}: ________" for s in block.spans)
                )
            else:
                lines.append(block.text)
    return "\n".join(lines) + "\n"
