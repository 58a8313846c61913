"""Where an embedded model's call spends its time: the prompt's shared part (cached by the
server), the part that changes from call to call, and the answer.

    .venv/bin/python benchmarks/llm_call_cost.py \\
        docs/results/2026-12-02-default-job/seed0-two-threads/llm_calls.jsonl.gz \\
        --out docs/results/2026-12-02-perf-six-workloads

For each embedded model, a few of its recorded prompts are sent in the recorded order, each
asking for one token (the latency is then almost all prompt processing, with the server's
cache holding the previous prompt), then the first prompt is asked again in full with the
run's structured answer. Writes ``<out>/llm_call_cost.json``. Nothing else should run on the
machine meanwhile.
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

SHARED_END = "Historical Performance Info"  # the prompt's first part that changes per call


def _ask(client: OpenAI, model: str, prompt: dict[str, str], max_tokens: int) -> tuple[float, Any]:
    started = time.perf_counter()
    reply = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": prompt["system"]},
            {"role": "user", "content": prompt["user"]},
        ],
        max_tokens=max_tokens,
        temperature=0.0,
    )
    return time.perf_counter() - started, reply


def measure(client: OpenAI, model: str, prompts: list[dict[str, str]]) -> dict[str, Any]:
    first = prompts[0]
    shared = {"system": first["system"], "user": first["user"].split(SHARED_END)[0]}
    cold, _ = _ask(client, model, first, 1)
    again, _ = _ask(client, model, first, 1)
    changed = [_ask(client, model, p, 1)[0] for p in prompts[1:]]
    shared_only, _ = _ask(client, model, shared, 1)
    answered, reply = _ask(client, model, first, 64)
    return {
        "prompt_chars": statistics.median(len(p["system"]) + len(p["user"]) for p in prompts),
        "shared_chars": len(shared["system"]) + len(shared["user"]),
        "cold_prompt_s": cold,
        "same_prompt_again_s": again,
        "next_prompt_s": statistics.median(changed),
        "shared_part_again_s": shared_only,
        "prompt_then_64_tokens_s": answered,
        "usage": reply.usage.model_dump() if reply.usage else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calls", type=Path, help="a run's llm_calls.jsonl (or .gz)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prompts", type=int, default=6, help="recorded prompts per model")
    args = parser.parse_args()
    opener = gzip.open if args.calls.suffix == ".gz" else open
    with opener(args.calls, "rt") as stream:
        calls = [json.loads(line) for line in stream if line.strip()]
    model_set = load_model_set("embedded")
    figures: dict[str, Any] = {"calls_file": str(args.calls), "models": {}}
    with (
        tempfile.TemporaryDirectory() as folder,
        EmbeddedServers(model_set.models, Path(folder)) as servers,
    ):
        for record in servers.records:
            client = OpenAI(base_url=record.base_url, api_key="local", max_retries=0)
            prompts = [c["prompt"] for c in calls if c["model"] == record.name][: args.prompts]
            figures["models"][record.name] = measure(client, record.model_id, prompts)
            print(record.name, json.dumps(figures["models"][record.name]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "llm_call_cost.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
