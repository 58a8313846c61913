"""Who earned the run's speed-up: each model's proposals against the random samples beside them
(``results.json``'s ``search.credit``), and a plain verdict when the models did no better."""

from __future__ import annotations

from typing import Any

from colt.report.document import Paragraph, Table
from colt.report.runs import RunRecord
from colt.report.tables import DASH

# Sources whose programs no model chose: fresh design-space samples, rollout ends (random walks
# from a child), the first round's sketches and samples, and the random stand-in's proposals
# (made once the models' calls have taken their share of the wall time).
RANDOM_SOURCES = ("fresh", "rollout", "initial", "random")


def _ms(seconds: Any) -> str:
    return DASH if seconds is None else f"{1e3 * seconds:.4g}"


def _share(value: Any) -> str:
    return DASH if value is None else f"{100 * value:.0f} %"


def credit_table(run: RunRecord) -> Table | None:
    credit = (run.search or {}).get("credit") or {}
    if not credit:
        return None
    rows = tuple(
        (
            source,
            str(entry.get("samples", 0)),
            str(entry.get("improvements", 0)),
            _share(entry.get("improvement_share")),
            _ms(entry.get("best_latency_s")),
            str(entry.get("calls", DASH)),
            DASH if entry.get("seconds") is None else f"{entry['seconds']:.1f}",
        )
        for source, entry in credit.items()
    )
    return Table(
        ("Source", "Samples", "Improvements", "Share of speed-up", "Best (ms)", "Calls", "Seconds"),
        rows,
        caption="Credit per source of measured samples (share of speed-up: its part of "
        "ln(first latency / best latency))",
    )


def _cut(run: RunRecord) -> str:
    """A sentence when the models' share of the wall was cut for earning less than it cost."""
    share = (run.search or {}).get("model_share") or {}
    cap, at_end = share.get("cap"), share.get("at_end")
    if cap is None or at_end is None or at_end >= cap:
        return ""
    return (
        f" Their proposals won a smaller part of the search's speed-up than their calls took "
        f"of the wall, so their share of the wall fell from {_share(cap)} to {_share(at_end)}."
    )


def _waited(run: RunRecord) -> str:
    """A sentence when the models were asked only after rounds that found nothing faster."""
    share = (run.search or {}).get("model_share") or {}
    if not share.get("on_stall") or share.get("cap", 1.0) >= 1.0:
        return ""
    needed = int(share.get("stall_rounds", 1))
    after = "one round" if needed == 1 else f"{needed} rounds in a row"
    return (
        f" They were asked only after {after} that found nothing faster: "
        f"{int(share.get('stalled_rounds', 0))} of {int(share.get('rounds', 0))} rounds stalled."
    )


def credit_verdict(run: RunRecord) -> Paragraph | None:
    """Whether the models' proposals beat the random samples of the same run, in one sentence."""
    credit = (run.search or {}).get("credit") or {}
    models = {s: e for s, e in credit.items() if s not in RANDOM_SOURCES}
    if run.proposer != "llm" or not models:
        return None
    random = [credit[s]["best_latency_s"] for s in RANDOM_SOURCES if s in credit]
    random_best = min((x for x in random if x is not None), default=None)
    model_best = min(
        (e["best_latency_s"] for e in models.values() if e["best_latency_s"]), default=None
    )
    seconds = sum(e.get("seconds") or 0.0 for e in models.values())
    share = sum(e.get("improvement_share") or 0.0 for e in models.values())
    if model_best is None or (random_best is not None and random_best <= model_best):
        return Paragraph(
            f"The models did no better than random in this run: their proposals' best was "
            f"{_ms(model_best)} ms against {_ms(random_best)} ms from random samples, for "
            f"{seconds:.0f} s of model calls ({_share(share)} of the speed-up)."
            f"{_cut(run)}{_waited(run)}"
        )
    return Paragraph(
        f"The models' proposals reached the run's best, {_ms(model_best)} ms, against "
        f"{_ms(random_best)} ms from random samples, for {seconds:.0f} s of model calls "
        f"({_share(share)} of the speed-up).{_waited(run)}"
    )
