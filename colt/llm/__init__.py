"""The LLM layer: model sets, embedded local servers, the Appendix B prompt, answer parsing,
and ``LLMProposer``, the search's ``Proposer`` over OpenAI-compatible endpoints."""

from __future__ import annotations

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
