"""Validation of repository ids before they reach a URL or a file path (no traversal, no injection)."""

from __future__ import annotations

import re

_HUB_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
_HUB_ID = re.compile(rf"^(?:{_HUB_PART}/)?{_HUB_PART}$")
_GITHUB_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_REVISION = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")


class InvalidId(ValueError):
    """An id that is not safe to put in a URL or path."""


def is_hub_id(value: str) -> bool:
    return bool(_HUB_ID.match(value)) and ".." not in value and "--" not in value


def check_hub_id(value: str) -> str:
    """A Hub repo id (``name`` or ``org/name``), as the Hub itself allows them."""
    if not isinstance(value, str) or not is_hub_id(value):
        raise InvalidId(f"not a valid Hub repo id: {value!r}")
    return value


def check_github_id(value: str) -> str:
    if not isinstance(value, str) or not _GITHUB_ID.match(value) or ".." in value.split("/")[1]:
        raise InvalidId(f"not a valid GitHub repository: {value!r}")
    return value


def check_revision(value: str) -> str:
    if not _REVISION.match(value) or ".." in value:
        raise InvalidId(f"not a valid revision: {value!r}")
    return value
