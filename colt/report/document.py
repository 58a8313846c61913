"""A report as plain data (sections of paragraphs, tables, figures, code) and its two renderings:
one self-contained HTML page (inline CSS, PNGs as base64 data URIs, no external resource) and
Markdown that links PNG files written beside it."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    note: str = ""


@dataclass(frozen=True)
class Figure:
    name: str  # file name stem, e.g. "speedup" -> speedup.png beside report.md
    png: bytes
    caption: str


@dataclass(frozen=True)
class Code:
    text: str
    caption: str = ""


Block = Paragraph | Table | Figure | Code


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    title: str
    summary: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(b for s in self.sections for b in s.blocks if isinstance(b, Figure))


CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
p.summary { font-size: 1.05em; background: #f4f6f8; padding: .6em .9em; border-radius: 4px; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3em; }
th, td { border: 1px solid #bbb; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef1f4; }
tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #555; }
pre { background: #f6f8fa; border: 1px solid #ddd; padding: .8em; overflow-x: auto;
      font-size: .8em; max-height: 40em; }
p.note { font-size: .85em; color: #555; }
"""


def _html_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in block.rows
        )
        caption = f"<caption>{html.escape(block.caption)}</caption>" if block.caption else ""
        note = f'<p class="note">{html.escape(block.note)}</p>' if block.note else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    if isinstance(block, Figure):
        data = base64.b64encode(block.png).decode("ascii")
        alt = html.escape(block.caption, quote=True)
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
            f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
        )
    caption = f"<p>{html.escape(block.caption)}</p>" if block.caption else ""
    return f"{caption}<pre>{html.escape(block.text)}</pre>"


def to_html(document: Document) -> str:
    sections = "".join(
        f"<section><h2>{html.escape(s.title)}</h2>{''.join(_html_block(b) for b in s.blocks)}"
        "</section>"
        for s in document.sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(document.title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(document.title)}</h1>"
        f'<p class="summary">{html.escape(document.summary)}</p>{sections}</body></html>\n'
    )


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, Table):
        lines = [f"**{block.caption}**", ""] if block.caption else []
        lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(block.headers) - 1)) + "|")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        if block.note:
            lines += ["", f"_{block.note}_"]
        return "\n".join(lines)
    if isinstance(block, Figure):
        return f"![{block.caption}]({block.name}.png)\n\n_{block.caption}_"
    fence = "```"
    caption = f"{block.caption}\n\n" if block.caption else ""
    return f"{caption}{fence}python\n{block.text.rstrip()}\n{fence}"


def to_markdown(document: Document) -> str:
    parts = [f"# {document.title}", document.summary]
    for section in document.sections:
        parts.append(f"## {section.title}")
        parts += [_md_block(block) for block in section.blocks]
    return "\n\n".join(parts) + "\n"


def write(document: Document, out_dir: Path) -> Path:
    """Write ``report.html``, ``report.md`` and one PNG per figure into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for figure in document.figures:
        (out_dir / f"{figure.name}.png").write_bytes(figure.png)
    (out_dir / "report.md").write_text(to_markdown(document))
    path = out_dir / "report.html"
    path.write_text(to_html(document))
    return path
