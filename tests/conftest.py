"""Session-wide test settings."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# The machine's measured roofs are cached per user. A probe taken while tests load the CPU would
# understate them, so the tests measure into a file of their own, never the user's cache.
os.environ.setdefault(
    "COLT_ROOFS_FILE", str(Path(tempfile.mkdtemp(prefix="colt-test-roofs-")) / "roofs.json")
)
