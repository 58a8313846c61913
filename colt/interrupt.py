"""The one way a run stops: a stop request (Ctrl-C or ``kill``) that survives TVM.

``stopping_on_signals`` turns SIGINT and SIGTERM into a request plus a KeyboardInterrupt, so
``with`` blocks unwind (servers shut down, workers stop, the journal is closed) the same way for
both. A KeyboardInterrupt raised while TVM is calling back into Python comes out of TVM as an
ordinary error, which code that rightly treats TVM errors as an illegal edit, a failed build or
a failed verification would swallow, and a journal would then record a sample that never
failed. So the request is also kept as a flag: the tuning loops check it before anything is
journaled and between steps, and the CLI treats any error raised after a request as the
interruption it is.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

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


def _on_signal(signum: int, frame: FrameType | None) -> None:
    request()
    raise KeyboardInterrupt


@contextlib.contextmanager
def stopping_on_signals(
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> Iterator[None]:
    """Inside the block, each of ``signals`` requests a stop (outside the main thread, where
    Python cannot take signals, nothing changes); the previous handlers come back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
