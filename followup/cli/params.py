"""Parameter types and options shared by the commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class DateType(click.ParamType):
    """A strict ``YYYY-MM-DD`` calendar date."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        from followup.rules.dates import parse_date

        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class ParsedType(click.ParamType):
    """A value read by one of the rules' forgiving parsers (category, side, kind)."""

    def __init__(self, name: str, parser: str) -> None:
        self.name = name
        self._parser = parser

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from followup import rules

        try:
            return getattr(rules, self._parser)(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateType()
# (category, BI-RADS 4 subdivision or None): "4b" is (suspicious, 4B).
CATEGORY = ParsedType("category", "parse_assessment")
LATERALITY = ParsedType("side", "parse_laterality")
KIND = ParsedType("kind", "parse_kind")
IMAGED = ParsedType("imaged", "parse_imaged")
DENSITY = ParsedType("density", "parse_density")
BIOPSY_SIDE = ParsedType("side", "parse_biopsy_side")
BIOPSY_RESULT = ParsedType("result", "parse_biopsy_result")


def as_of_option(func: F) -> F:
    return click.option(
        "--as-of",
        type=DATE,
        metavar="DATE",
        help="Read the plan as on this day (YYYY-MM-DD); default: today.",
    )(func)


def format_option(*formats: str) -> Callable[[F], F]:
    """``--format``: table (for people, the default), json, csv (for scripts).

    Without ``table`` among ``formats`` (exports), the first one given is the default.
    """
    choices = formats or ("table", "json", "csv")
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default="table" if "table" in choices else choices[0],
        show_default=True,
        help="Output format.",
    )


FORCE_HELP = "Replace FILE if it exists (never the database or a file this command reads)."


def force_option(func: F) -> F:
    """``--force``: replace an existing output file (cli.md: only with --force)."""
    return click.option("--force", is_flag=True, help=FORCE_HELP)(func)


def output_options(what: str = "FILE") -> Callable[[F], F]:
    """``-o/--output FILE`` and ``--force``, the same on every command that writes a file:
    standard output without it (or with ``-o -``); otherwise FILE written whole or not at
    all, readable by its owner only (see followup.files)."""

    def decorate(func: F) -> F:
        func = force_option(func)
        return click.option(
            "-o",
            "--output",
            metavar="FILE",
            help=f"Write {what} to FILE (created readable by you only; - is standard output).",
        )(func)

    return decorate
