from __future__ import annotations

from colt.errors import last_line


def test_last_line_is_the_reason_tvm_gives_last() -> None:
    message = "Traceback (most recent call last):\n  File x\n\nInternalError: bad split\n\n"
    assert last_line(message) == "InternalError: bad split"
    assert last_line("x" * 500, limit=10) == "x" * 10


def test_an_empty_error_is_named_by_its_type() -> None:
    assert last_line(ValueError()) == "ValueError"
    assert last_line(None) == "unknown error"
