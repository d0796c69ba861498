"""Every command documents itself (cli.md: ``--help`` must document it)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from followup.cli import main


def _all_commands(group: click.Group, ctx: click.Context, prefix=()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, ctx, (*prefix, name))


COMMANDS = list(_all_commands(main, click.Context(main)))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help(path, command):
    assert command.help and len(command.help.strip()) > 20, f"{path} lacks help text"
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="followup")
    assert result.exit_code == 0
    assert "Usage: followup " + " ".join(path) in result.stdout
    for param in command.params:
        if isinstance(param, click.Option) and param.name not in ("help",):
            assert param.help, f"{' '.join(path)} {param.opts[0]} lacks help text"


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("followup, version ")


def test_main_help_lists_contract_commands():
    out = CliRunner().invoke(main, ["--help"]).stdout
    for name in ("init", "db", "patient", "exam", "films", "status"):
        assert f"  {name}" in out
