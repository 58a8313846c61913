"""The LLM side of one tuning run: endpoints up, a proposer over them, everything down after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from colt.config import TuneConfig
from colt.llm.endpoints import running_endpoints
from colt.llm.proposer import LLMProposer
from colt.llm.sets import ModelSet, load_model_set
from colt.llm.weights import EMBEDDED_WEIGHTS
from colt.search.base import ModelInfo
from colt.search.seeds import streams

CALL_LOG = "llm_calls.jsonl"
SERVER_LOGS = "servers"


@contextlib.contextmanager
def llm_proposer(
    config: TuneConfig, run_dir: Path
) -> Iterator[tuple[LLMProposer, tuple[ModelInfo, ...]]]:
    """The run's proposer and its models; embedded servers (logs in ``run_dir/servers``) start
    when a model is first asked, not before: a run whose search never stalls long enough to ask
    one pays nothing for them (their start took 1.7-2.0 s of a 35-60 s run on 2 cores). They stop
    when the block exits unless ``colt models serve`` keeps them.

    The vocabulary and its help come with every ``PromptContext``, so the proposer starts
    without one and this layer never imports the schedule layer.
    """
    model_set = load_model_set(config.model_set).restrict(config.models)
    for spec in model_set.models:  # missing weights fail now, not at the first call
        if spec.needs_embedded:
            EMBEDDED_WEIGHTS[str(spec.embedded)].path()
    with contextlib.ExitStack() as servers:

        def go_live() -> ModelSet:
            return servers.enter_context(running_endpoints(model_set, run_dir / SERVER_LOGS))

        rng = streams(config.seed).proposer  # draws only for the set's scripted models
        with LLMProposer(
            model_set, (), {}, log_path=run_dir / CALL_LOG, rng=rng, go_live=go_live
        ) as proposer:
            yield proposer, model_set.infos()
