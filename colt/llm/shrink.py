"""Deliberate shrinking of TVMScript program text so a prompt fits a context window.

Each level keeps what matters most to a schedule decision, the loop nest around the blocks:

0. the full text;
1. compact, what prompts show by default: the module wrapper, buffer declarations and block
   read/write/axis lines dropped (they follow from the loops), buffers as ``A: [512, 512]
   float32`` in the signature, over-long lines cut; loops, their annotations, blocks and
   statements stay, so every loop and block a transformation names is there;
2. bodies: bare signatures (``def main(A, B):``), ``T.init()`` blocks dropped, one statement
   kept per run, the rest as ``...``;
3. skeleton: only signatures, loops and blocks, every statement run as ``...``;
4+. the skeleton with its middle elided (``# ... N lines elided ...``), half as long per level.
"""

from __future__ import annotations

import re

_DECLARATION = re.compile(
    r"^(T\.(reads|writes|func_attr|block_attr|sblock_attr|axis\.\w+)\(|"
    r"[\w, ]+ = T\.(\w+_)?(alloc_buffer|match_buffer|decl_buffer|axis\.\w+)\(|"
    r"# from |# with T\.s?block\(\"root\"\))"
)
_WRAPPER = re.compile(r"^(@I\.ir_module|@T\.prim_func\b.*|class \w+:)$")
_BUFFER = re.compile(r'(\w+): T\.Buffer\(\(([^)]*)\),\s*"(\w+)"\)')
_STRUCTURE = ("@", "class ", "def ", "for ", "with ", "if ", "else", "elif ", "while ")
ELLIPSIS = "..."
MAX_LEVEL = 12
MAX_LINE_CHARS = 160


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _split_top_level(text: str) -> list[str]:
    """Splits ``text`` at commas outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _bare_signature(line: str) -> str:
    """``def main(A: T.Buffer((8, 8), "float32"), B: ...):`` -> ``def main(A, B):``."""
    match = re.match(r"^(\s*def \w+)\((.*)\)(\s*(->.*)?:\s*)$", line)
    if not match:
        return line
    names = [p.split(":")[0].strip() for p in _split_top_level(match.group(2))]
    return f"{match.group(1)}({', '.join(names)}):"


def _shaped_signature(line: str) -> str:
    """``A: T.Buffer((8, 8), "float32")`` -> ``A: [8, 8] float32`` throughout the line."""
    return _BUFFER.sub(lambda m: f"{m.group(1)}: [{m.group(2).rstrip(',')}] {m.group(3)}", line)


def compact(lines: list[str], *, bare_signatures: bool = False) -> list[str]:
    kept = []
    for line in lines:
        stripped = line.strip()
        if not stripped or _DECLARATION.match(stripped) or _WRAPPER.match(stripped):
            continue
        if stripped.startswith("def "):
            line = _bare_signature(line) if bare_signatures else _shaped_signature(line)
        kept.append(line)
    margin = min((len(_indent(line)) for line in kept), default=0)
    kept = [line[margin:] for line in kept]
    return [
        line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 4] + " ..."
        for line in kept
    ]


def drop_init_blocks(lines: list[str]) -> list[str]:
    """Removes ``with T.init():`` and its body (the reduction's zero fill)."""
    kept: list[str] = []
    init_indent: int | None = None
    for line in lines:
        indent = len(_indent(line))
        if init_indent is not None and indent > init_indent:
            continue
        init_indent = None
        if line.strip() == "with T.init():":
            init_indent = indent
            continue
        kept.append(line)
    return kept


def _is_structure(line: str) -> bool:
    return line.strip().startswith(_STRUCTURE)


def elide_statements(lines: list[str], *, keep: int) -> list[str]:
    """Keeps the first ``keep`` lines of each run of non-structural statements, then ``...``."""
    out: list[str] = []
    run = 0
    for line in lines:
        if _is_structure(line):
            run = 0
            out.append(line)
            continue
        run += 1
        if run <= keep:
            out.append(line)
        elif run == keep + 1:
            out.append(_indent(line) + ELLIPSIS)
    return out


def elide_middle(lines: list[str], *, keep: int) -> list[str]:
    """Keeps about ``keep`` lines: the head and the tail, with a marker for the middle."""
    if len(lines) <= keep:
        return lines
    head = max(1, (keep + 1) // 2)
    tail = max(0, keep - head)
    marker = f"{_indent(lines[head])}# ... {len(lines) - head - tail} lines elided ..."
    return lines[:head] + [marker] + (lines[-tail:] if tail else [])


def shrink_program(text: str, level: int) -> str:
    """The program at shrink ``level`` (0 = unchanged); higher levels are never longer."""
    lines = text.rstrip().splitlines()
    if level <= 0:
        return "\n".join(lines)
    lines = compact(lines, bare_signatures=level >= 2)
    if level >= 2:
        lines = elide_statements(drop_init_blocks(lines), keep=1 if level == 2 else 0)
    if level >= 4:
        lines = elide_middle(lines, keep=max(2, len(lines) >> (level - 3)))
    return "\n".join(lines)


def shrink_history(history: tuple[str, ...], keep: int | None) -> list[str]:
    """The last ``keep`` steps (None: all), with a line counting the dropped earlier ones."""
    if keep is None or len(history) <= keep:
        return list(history)
    dropped = len(history) - keep
    return [f"... {dropped} earlier steps ..."] + list(history[dropped:])
