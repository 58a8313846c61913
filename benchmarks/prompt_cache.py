"""Does the embedded llama.cpp server reuse a prompt's stable prefix? The same calls, replayed
in the recorded order, with the sections in the old order and in the new one.

    .venv/bin/python benchmarks/prompt_cache.py \\
        docs/results/2026-12-01-main-job/llm_calls.jsonl.gz \\
        --out docs/results/2026-12-02-prompt-cache

The recorded prompts (old order: history first) are replayed as they were, then with their
sections moved into the new order (vocabulary, model list and rules first; what changes
after), each model's calls on its own embedded server, in the order the run made them. Each
call asks for one token, so its latency is almost all prompt processing. Writes
``<out>/prompt_cache.json``. Nothing else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from openai import OpenAI

from colt.llm.servers import EmbeddedServers
from colt.llm.sets import load_model_set

OLD_TITLES = (
    "Available Transformations",
    "Search Context",
    "Global Per-Model Stats",
    "Model Selection Guidance",
    "Answer with the JSON object only",
)


def _sections(user: str) -> dict[str, str]:
    """The old prompt cut at its section titles (the history has no title of its own)."""
    starts = sorted((user.index("\n\n" + t) + 2, t) for t in OLD_TITLES if "\n\n" + t in user)
    cuts = [0, *(start for start, _ in starts), len(user)]
    names = ["history", *(title for _, title in starts)]
    return {name: user[a:b].strip("\n") for name, a, b in zip(names, cuts, cuts[1:], strict=False)}


def new_order(user: str) -> str:
    """The old user text rearranged as ``colt.llm.prompt`` now builds it."""
    parts = _sections(user)
    guidance = parts["Model Selection Guidance"].splitlines()
    under_used = [line for line in guidance if line.startswith("- Under-used")]
    stable = [line for line in guidance if not line.startswith("- Under-used")]
    answer = parts["Answer with the JSON object only"]
    names = answer.split("next_model is one of ", 1)[-1]
    stable.append("next_model is one of " + names)
    stats = parts["Global Per-Model Stats"] + "".join(
        "\n" + line.removeprefix("- ") for line in under_used
    )
    order = [
        parts["Available Transformations"],
        "\n".join(stable),
        parts["history"],
        parts["Search Context"],
        stats,
        "Answer with the JSON object only.",
    ]
    return "\n\n".join(order)


def replay(
    calls: list[dict[str, Any]], servers: dict[str, tuple[str, str]], reorder: bool
) -> list[float]:
    latencies = []
    for call in calls:
        url, model_id = servers[call["model"]]
        client = OpenAI(base_url=url, api_key="local", max_retries=0)
        user = new_order(call["prompt"]["user"]) if reorder else call["prompt"]["user"]
        started = time.perf_counter()
        client.chat.completions.create(
            model=model_id,
            messages=[
                {"role": "system", "content": call["prompt"]["system"]},
                {"role": "user", "content": user},
            ],
            max_tokens=1,
            temperature=0.0,
        )
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calls", type=Path, help="a run's llm_calls.jsonl (or .gz)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    opener = gzip.open if args.calls.suffix == ".gz" else open
    with opener(args.calls, "rt") as stream:
        calls = [json.loads(line) for line in stream if line.strip()]
    calls = [c for c in calls if c.get("prompt", {}).get("user")]
    model_set = load_model_set("embedded")
    figures: dict[str, Any] = {"calls": len(calls), "by_order": {}}
    with (
        tempfile.TemporaryDirectory() as folder,
        EmbeddedServers(model_set.models, Path(folder)) as servers,
    ):
        served = {r.name: (r.base_url, r.model_id) for r in servers.records}
        for label, reorder in (("old", False), ("new", True), ("old again", False)):
            latencies = replay(calls, served, reorder)
            by_model = {
                model: [t for t, c in zip(latencies, calls, strict=True) if c["model"] == model]
                for model in served
            }
            figures["by_order"][label] = {
                "total_s": sum(latencies),
                "median_s": {m: statistics.median(ts) for m, ts in by_model.items() if ts},
                "mean_s": {m: statistics.fmean(ts) for m, ts in by_model.items() if ts},
            }
            print(f"{label}: {sum(latencies):.1f} s for {len(calls)} calls", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "prompt_cache.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
