"""A stop request (Ctrl-C or ``kill``) that survives TVM.

A KeyboardInterrupt raised while TVM is calling back into Python comes out of TVM as an ordinary
error, which code that rightly treats TVM errors as an illegal edit, a failed build or a failed
verification would swallow, and a journal would then record a sample that never failed. So the
request is also kept as a flag: the tuning loops check it before anything is journaled and
between steps, and the CLI treats any error raised after a request as the interruption it is.
"""

from __future__ import annotations

_requested = False


def request() -> None:
    global _requested
    _requested = True


def requested() -> bool:
    return _requested


def clear() -> None:
    global _requested
    _requested = False


def check() -> None:
    """Raises KeyboardInterrupt if a stop was requested, wherever the first one went."""
    if _requested:
        raise KeyboardInterrupt
