"""Errors a user can fix: the CLI prints their one sentence and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input (unknown name, unreadable file, impossible option); the message is one sentence."""


def unknown_choice(kind: str, name: str, choices: list[str] | tuple[str, ...]) -> UserError:
    valid = ", ".join(sorted(choices))
    return UserError(f"unknown {kind} {name!r}; valid choices: {valid}")
