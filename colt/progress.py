"""Progress shown while a run measures: samples done and the best verified speedup so far."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RunProgress:
    def __init__(self, total: int, *, enabled: bool = True) -> None:
        self.progress = Progress(
            TextColumn("[bold]tuning[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("samples  best {task.fields[speedup]}  {task.fields[note]}"),
            TimeElapsedColumn(),
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("tune", total=total, speedup="-", note="")

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def update(self, samples: int, speedup: float | None) -> None:
        shown = f"{speedup:.2f}x" if speedup else "-"
        self.progress.update(self.task, completed=samples, speedup=shown)

    def note(self, text: str) -> None:
        """What the search is doing between measurement rounds (they can take minutes)."""
        self.progress.update(self.task, note=text)
