"""Mail settings for ``followup remind``: a config file, overridden by the environment.

Secrets never come from the command line (argv is visible to every user through ``ps`` and
lands in shell history). They come from ``FOLLOWUP_SMTP_*`` variables or from a TOML file,
``$FOLLOWUP_CONFIG`` or ``<user config dir>/followup/config.toml``::

    [smtp]
    url = "smtp://mail.example.org:587"     # or "maildir:/var/spool/followup"
    from = "Breast imaging follow-up <followup@example.org>"
    user = "followup"
    password = "..."
    starttls = true

A file holding a password must be readable by its owner only (``chmod 600``), as ssh demands
of its keys: otherwise it is refused, since any local user could read the password.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_CONFIG = "FOLLOWUP_CONFIG"
ENV_KEYS = {
    "url": "FOLLOWUP_SMTP_URL",
    "user": "FOLLOWUP_SMTP_USER",
    "password": "FOLLOWUP_SMTP_PASSWORD",
    "from": "FOLLOWUP_SMTP_FROM",
    "starttls": "FOLLOWUP_SMTP_STARTTLS",
}
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the file or variable to fix."""


@dataclass(frozen=True)
class MailSettings:
    """Where reminders go and as whom; ``url`` is ``smtp://HOST:PORT`` or ``maildir:PATH``."""

    url: str | None = None
    user: str | None = None
    password: str | None = None
    sender: str | None = None
    starttls: bool | None = None


def default_path() -> Path:
    """``<user config dir>/followup/config.toml`` (``~/.config/followup/`` on Linux)."""
    from platformdirs import user_config_path

    return user_config_path("followup", appauthor=False) / "config.toml"


def config_path(env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file and whether it was asked for explicitly (then it must exist)."""
    explicit = env.get(ENV_CONFIG)
    return (Path(explicit).expanduser(), True) if explicit else (default_path(), False)


def load_mail_settings(env: Mapping[str, str] | None = None) -> MailSettings:
    """The ``[smtp]`` table of the config file, each key overridden by its variable."""
    env = os.environ if env is None else env
    path, explicit = config_path(env)
    table = _read_table(path, explicit)
    values: dict[str, Any] = {}
    for key, variable in ENV_KEYS.items():
        if env.get(variable):
            values[key] = env[variable]
        elif key in table:
            values[key] = table[key]
    return MailSettings(
        url=_text(values, "url"),
        user=_text(values, "user"),
        password=_text(values, "password"),
        sender=_text(values, "from"),
        starttls=_flag(values.get("starttls")),
    )


def _read_table(path: Path, explicit: bool) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(
                f"the config file {path} named by {ENV_CONFIG} does not exist; create it or "
                f"unset {ENV_CONFIG}"
            ) from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from None
    table = data.get("smtp", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [smtp] must be a table of key = value lines")
    unknown = sorted(set(table) - set(ENV_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown [smtp] key {unknown[0]!r}; known keys: {', '.join(ENV_KEYS)}"
        )
    if table.get("password"):
        _check_private(path)
    return table


def _check_private(path: Path) -> None:
    """Refuse a password that other local users can read."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"the config file {path} holds a password but other users can read it "
            f"(mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}`"
        )


def _text(values: dict[str, Any], key: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        # Never the value itself: a password typed without its quotes is still the password.
        raise ConfigError(
            f'the mail setting {key!r} must be text in quotes ({key} = "..."), not '
            f"{_toml_type(value)}; fix the config file or {ENV_KEYS[key]}"
        )
    return value.strip() or None


def _toml_type(value: Any) -> str:
    """What TOML made of an unquoted value, in its own words, without the value."""
    names = {bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    return next((n for t, n in names.items() if isinstance(value, t)), "a table or a date")


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise ConfigError(
        f"starttls must be true or false ({ENV_KEYS['starttls']}=1 or 0), not {value!r}"
    )
