"""Errors a user can fix: the CLI prints their one sentence and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input (unknown name, unreadable file, impossible option); the message is one sentence."""


def unknown_choice(kind: str, name: str, choices: list[str] | tuple[str, ...]) -> UserError:
    valid = ", ".join(sorted(choices))
    return UserError(f"unknown {kind} {name!r}; valid choices: {valid}")


def last_line(message: object, *, limit: int = 300) -> str:
    """The last non-empty line of an error or its message: TVM puts its traceback first and the
    reason last, so this is the line worth one sentence. An empty error gives its type's name."""
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    if lines:
        return lines[-1][:limit]
    return type(message).__name__ if isinstance(message, BaseException) else "unknown error"
