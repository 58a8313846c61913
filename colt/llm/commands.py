"""``colt models list|check|serve``: the rows of ``colt.llm.endpoints`` rendered as text.

``colt.cli`` calls these: ``list_sets`` returns printable lines, ``check_set`` and
``serve_set`` print and return the exit status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from colt.llm import endpoints
from colt.llm.servers import ServerRecord
from colt.llm.tokens import format_parameters


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[str]:
    """Left-aligned columns under a header line."""
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return lines


def list_sets() -> list[str]:
    rows = []
    for row in endpoints.list_sets():
        key = (
            row["api_key_env"] and f"{row['api_key_env']} ({'set' if row['key_set'] else 'unset'})"
        )
        rows.append(
            {
                **row,
                "parameters": format_parameters(row["parameters"]),
                "api key": key or "-",
                "largest": "yes" if row["largest"] else "",
            }
        )
    columns = ("set", "model", "parameters", "largest", "endpoint", "structured_output", "api key")
    return table(rows, columns)


def check_set(name: str) -> int:
    """Prints one line per model; 0 when every served model answered a structured call, else 1
    (scripted models are not called: their line says so)."""
    rows = endpoints.check_set(name)
    shown = [{**row, "ok": _check_outcome(row)} for row in rows]
    for line in table(shown, ("model", "ok", "latency_s", "error")):
        print(line)
    return 0 if all(row["ok"] for row in rows) else 1


def _check_outcome(row: dict[str, Any]) -> str:
    if row.get("scripted"):
        return f"scripted ({row['scripted']}, not called)"
    return "ok" if row["ok"] else "FAILED"


def _announce(records: tuple[ServerRecord, ...]) -> None:
    for record in records:
        print(f"{record.name}: {record.base_url} (pid {record.pid}, log {record.log_path})")
    print("runs started now reuse these servers; Ctrl-C stops them", flush=True)


def serve_set(name: str) -> int:
    """Serves the set's embedded models until Ctrl-C."""
    endpoints.serve_set(name, on_ready=_announce)
    print("servers stopped")
    return 0
