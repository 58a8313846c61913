"""Session-wide test settings."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# The machine's measured roofs are cached per user. A probe taken while tests load the CPU would
# understate them, so the tests measure into a file of their own, never the user's cache.
os.environ.setdefault(
    "COLT_ROOFS_FILE", str(Path(tempfile.mkdtemp(prefix="colt-test-roofs-")) / "roofs.json")
)
# The tuning-record library: a temporary one for the session, never the user's cache, and a
# fresh one per test (autouse fixture) so that no test warm-starts from another's records.
os.environ.setdefault(
    "COLT_RECORDS_DIR", str(Path(tempfile.mkdtemp(prefix="colt-test-records-")) / "records")
)


@pytest.fixture(autouse=True, scope="module")
def _module_record_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A module's own library, for its module-scoped runs (set before they are made)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLT_RECORDS_DIR", str(tmp_path_factory.mktemp("module-records")))
        yield


@pytest.fixture(autouse=True)
def _fresh_record_library(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    monkeypatch.setenv("COLT_RECORDS_DIR", str(tmp_path_factory.mktemp("records")))
