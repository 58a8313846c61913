"""The LLM layer: model sets, embedded local servers, the Appendix B prompt, answer parsing,
and ``LLMProposer``, the search's ``Proposer`` over OpenAI-compatible endpoints.

Names are imported from their modules when first used: a run with the random proposer reads
only the model sets, and importing the OpenAI client took 0.6 s of its wall."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from colt.llm.answers import answer_schema, extract_object, match_name, parse_answer
    from colt.llm.client import ChatClient, ChatReply, redact
    from colt.llm.endpoints import (
        Endpoints,
        check_set,
        list_sets,
        running_endpoints,
        serve_set,
        start_embedded,
    )
    from colt.llm.prompt import build_prompt
    from colt.llm.proposer import LLMProposer
    from colt.llm.sets import ModelSet, ModelSpec, load_model_set, model_set_names
    from colt.llm.tokens import estimate_tokens

_MODULE_OF = {
    **dict.fromkeys(("answer_schema", "extract_object", "match_name", "parse_answer"), "answers"),
    **dict.fromkeys(("ChatClient", "ChatReply", "redact"), "client"),
    **dict.fromkeys(
        (
            "Endpoints",
            "check_set",
            "list_sets",
            "running_endpoints",
            "serve_set",
            "start_embedded",
        ),
        "endpoints",
    ),
    "build_prompt": "prompt",
    "LLMProposer": "proposer",
    **dict.fromkeys(("ModelSet", "ModelSpec", "load_model_set", "model_set_names"), "sets"),
    "estimate_tokens": "tokens",
}

__all__ = [
    "ChatClient",
    "ChatReply",
    "Endpoints",
    "LLMProposer",
    "ModelSet",
    "ModelSpec",
    "answer_schema",
    "build_prompt",
    "check_set",
    "estimate_tokens",
    "extract_object",
    "list_sets",
    "load_model_set",
    "match_name",
    "model_set_names",
    "parse_answer",
    "redact",
    "running_endpoints",
    "serve_set",
    "start_embedded",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup finds it without this function
    return value
