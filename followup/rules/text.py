"""Text every way in shares (CLI, CSV, FHIR): what a stored text may hold, how to show what it
should not have held, and when two facility names only look alike.

Control characters (C0, DEL, C1) have no place in an id, a name, a facility, an address, a
phone number, an e-mail address or a descriptor: in a terminal they retitle the window or
clear the screen, PostgreSQL refuses NUL outright, and spreadsheets and mail headers split on
CR and LF. A note may hold tabs and line breaks (LF, CR), nothing else of them. Lone
surrogates (bytes that were not UTF-8, or a JSON ``\\udcff`` escape) are not text at all.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls, DEL, C1 controls, and lone surrogates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# A note may hold tabs and line breaks (LF, and the CR of CRLF or old Mac line ends).
_NOTE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x1b": "ESC", "\r": "CR", "\n": "LF"}


def _describe(char: str, position: int) -> str:
    if "\ud800" <= char <= "\udfff":
        return f"bytes that are not UTF-8 text at character {position} (\\u{ord(char):04x})"
    name = _NAMES.get(char) or f"U+{ord(char):04X}"
    return f"a control character ({name}) at character {position}"


def check_text(value: object, what: str, *, note: bool = False) -> str | None:
    """``value`` if it is text fit to store as ``what`` (None stays None); a ValueError naming
    the field and the first offending character otherwise. ``note`` allows tab and newline."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"the {what} must be text, not {type(value).__name__} ({value!r})")
    found = (_NOTE_CONTROL if note else _CONTROL).search(value)
    if found is not None:
        allowed = " (line breaks and tabs are allowed)" if note else ""
        raise ValueError(
            f"the {what} holds {_describe(found.group(), found.start() + 1)}; remove it{allowed}"
        )
    return value


MAX_ADDRESS_LINES = 5  # the letters' envelope window (followup.present.letter_facts)
MAX_ADDRESS_LINE = 100
MAX_PHONE = 64


def check_address(value: str | None, what: str = "address") -> str | None:
    """A postal address as stored: one line a line (LF), each line's ends trimmed, blank lines
    dropped; empty is None (no address). ValueError when a line holds a control character
    (a tab included), or there are more lines, or longer ones, than a letter's window holds."""
    if value is None:
        return None
    check_text(value, what, note=True)
    if "\t" in value:
        raise ValueError(f"the {what} holds a tab; separate its parts with spaces")
    lines = [line.strip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if len(lines) > MAX_ADDRESS_LINES:
        raise ValueError(
            f"the {what} has {len(lines)} lines; an envelope window holds at most "
            f"{MAX_ADDRESS_LINES} (the name is printed above them)"
        )
    long = next((line for line in lines if len(line) > MAX_ADDRESS_LINE), None)
    if long is not None:
        raise ValueError(
            f"a line of the {what} is {len(long)} characters long; keep each line to "
            f"{MAX_ADDRESS_LINE} (break it into lines)"
        )
    return "\n".join(lines) or None


def check_phone(value: str | None, what: str = "phone number") -> str | None:
    """A telephone number as stored: one line of text, at most MAX_PHONE characters, ends
    trimmed; empty is None. Its form is the clinic's business (extensions, country codes)."""
    if value is None:
        return None
    check_text(value, what)
    if len(value.strip()) > MAX_PHONE:
        raise ValueError(f"the {what} is longer than {MAX_PHONE} characters; shorten it")
    return value.strip() or None


def has_controls(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep: str = "") -> str:
    """``text`` with every control character (except those in ``keep``, e.g. ``"\\n"``) and
    lone surrogate shown as ``\\x1b`` / ``\\udcff``: what a terminal shows instead of obeying.
    For data stored before it was checked, and for messages that quote input."""
    if not _CONTROL.search(text):
        return text
    escaped = _CONTROL.sub(lambda m: m.group() if m.group() in keep else _escaped(m), text)
    return escaped


# Letters of other scripts that look like Latin ones, after case folding: the Cyrillic and Greek
# entries of Unicode's confusables.txt that map to one Latin letter (written as escapes, so the
# source shows which is which). NFKC first maps full-width, mathematical and other compatibility
# forms; characters that show nothing are dropped.
_LOOKALIKE_PAIRS = (
    # Cyrillic a, ve, ie, io, shha, en, i, yi, je, ka
    "\u0430a \u0432b \u0435e \u0451\u00eb \u04bbh \u043dh \u0456i \u0457\u00ef \u0458j \u043ak "
    # palochka, em, o, er, qa, ghe, dze, te, u, straight u
    "\u04cfl \u043cm \u043eo \u0440p \u051bq \u0433r \u0455s \u0442t \u0443y \u04afy "
    # ha, we, es, komi de, soft sign, pe; Latin script g
    "\u0445x \u051dw \u0441c \u0501d \u044cb \u043fn \u0261g "
    # Greek alpha, beta, epsilon, eta, iota, kappa, nu, omicron
    "\u03b1a \u03b2b \u03b5e \u03b7n \u03b9i \u03bak \u03bdv \u03bfo "
    # rho, tau, upsilon, chi, gamma, zeta, mu
    "\u03c1p \u03c4t \u03c5u \u03c7x \u03b3y \u03b6z \u03bcu "
)
_LOOKALIKES = str.maketrans({pair[0]: pair[1:] for pair in _LOOKALIKE_PAIRS.split()})
_INVISIBLE = re.compile("[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def skeleton(name: str) -> str:
    """What ``name`` looks like, after the facility key's case and space folding: two names
    with one skeleton and different keys differ only by look-alike letters ("Northside" with
    a Cyrillic o) or invisible characters. A UTS #39-style skeleton reduced to the scripts
    that people mix up in practice here (Latin, Cyrillic, Greek)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    visible = _INVISIBLE.sub("", folded)
    return " ".join(visible.translate(_LOOKALIKES).split())
