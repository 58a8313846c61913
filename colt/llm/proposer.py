"""``LLMProposer``: the search's ``Proposer`` over a model set, with a JSON-lines call log.

Each ``propose`` call is synchronous: build the Appendix B prompt to fit the model's context
window, make one structured call (bounded retries), parse the answer into a ``Proposal`` and
append one line to ``llm_calls.jsonl``. Nothing keeps running after it returns. Endpoint faults
come back as ``Proposal.error_kind``; API keys never reach the log (every line is redacted).
A scripted model's calls go to its ``ScriptedProposer`` instead (no prompt, no client) and are
logged and counted like any other.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from colt.disk import append_line
from colt.llm.answers import MAX_EDITS, answer_schema, parse_answer
from colt.llm.client import ChatClient, ChatReply, redact
from colt.llm.prompt import build_prompt
from colt.llm.sets import ModelSet, ModelSpec
from colt.llm.tokens import estimate_tokens
from colt.search.base import PromptContext, Proposal
from colt.search.scripted import ScriptedProposer

ANSWER_MARGIN_TOKENS = 32  # room for the chat template around the prompt


LOOPBACK = ("127.", "localhost", "[::1]", "0.0.0.0")


def _served_elsewhere(spec: ModelSpec) -> bool:
    """A model answered by another machine: its calls do not take this machine's cores."""
    if spec.scripted is not None or spec.embedded is not None or not spec.base_url:
        return False
    host = urlsplit(spec.base_url).netloc.rsplit("@", 1)[-1]
    return not host.startswith(LOOPBACK)


class LLMProposer:
    """Asks the models of ``model_set`` for joint actions over ``transformations``."""

    def __init__(
        self,
        model_set: ModelSet,
        transformations: Sequence[str],
        help: Mapping[str, str],
        *,
        log_path: Path | None,
        max_edits: int = MAX_EDITS,
        client_factory: Callable[[ModelSpec, str | None], ChatClient] = ChatClient,
        rng: np.random.Generator | None = None,
        go_live: Callable[[], ModelSet] | None = None,
    ) -> None:
        """``rng`` seeds the scripted models (None: fresh entropy); served models ignore it.
        ``go_live``: starts the set's embedded servers and returns the set with their
        addresses, called before the first call to a model that needs one (None: the set is
        live already)."""
        self.model_set = model_set
        self._go_live = go_live
        self.all_remote = all(_served_elsewhere(spec) for spec in model_set.models)
        self.transformations = tuple(transformations)
        self.help = dict(help)
        self.log_path = Path(log_path) if log_path else None
        self.max_edits = max_edits
        self._client_factory = client_factory
        self._clients: dict[str, ChatClient] = {}
        self._token_scale: dict[str, float] = {}
        self._secrets = tuple(model_set.api_key(name) for name in model_set.names)
        self._scripted = scripted_proposers(
            model_set, rng if rng is not None else np.random.default_rng()
        )
        # the scripted models' generators, whose states the search's events carry
        self.generators = {f"scripted:{name}": p.rng for name, p in self._scripted.items()}

    def __enter__(self) -> LLMProposer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _client(self, spec: ModelSpec) -> ChatClient:
        if spec.name not in self._clients:
            self._clients[spec.name] = self._client_factory(spec, self.model_set.api_key(spec.name))
        return self._clients[spec.name]

    def propose(self, model: str, context: PromptContext) -> Proposal:
        """One call to ``model``; returns when the answer is parsed (or the call failed).

        ``context.transformations`` (else the proposer's vocabulary) is what the prompt offers
        and the schema allows; an unknown next model in the answer keeps the edits and names
        ``model`` itself as the next one, with ``error_kind="unknown_model"``.
        """
        if model not in self.model_set.names:
            detail = f"model {model!r} is not in the set {self.model_set.name!r}"
            proposal = Proposal(None, "unknown_model", detail)
            self._log(model, None, "", "", ChatReply(error_kind="unknown_model"), proposal, 0)
            return proposal
        spec = self.model_set.spec(model)
        if self._go_live is not None and spec.needs_embedded:
            self.model_set, self._go_live = self._go_live(), None
            spec = self.model_set.spec(model)
        offered = context.transformations or self.transformations
        context = dataclasses.replace(
            context,
            transformations=offered,
            transformation_help={**self.help, **context.transformation_help},
        )
        if spec.scripted is not None:
            return self._propose_scripted(model, f"scripted:{spec.scripted}", context)
        room = spec.context_window - spec.max_tokens * context.children - ANSWER_MARGIN_TOKENS
        system, user = build_prompt(
            context,
            max_prompt_tokens=min(room, spec.prompt_tokens or room),
            token_scale=self._token_scale.get(model, 1.0),
            edit_arguments=spec.edit_arguments,
            examples=spec.examples,
        )
        schema = answer_schema(
            offered,
            self.model_set.names,
            edit_arguments=spec.edit_arguments,
            max_edits=self.max_edits,
            children=context.children,
        )
        reply = self._client(spec).complete(
            system, user, schema=schema, max_tokens=spec.max_tokens * context.children
        )
        estimate = estimate_tokens(system) + estimate_tokens(user)
        proposal = self._proposal(model, reply, offered)
        proposal = dataclasses.replace(
            proposal,
            latency_s=reply.latency_s,
            prompt_tokens=reply.prompt_tokens or estimate,
            completion_tokens=reply.completion_tokens or 0,
        )
        if reply.prompt_tokens:  # calibrate the estimate on the endpoint's own count
            ratio = reply.prompt_tokens / max(1, estimate) * 1.05
            self._token_scale[model] = min(2.0, max(0.5, ratio))
        self._log(model, spec.base_url, system, user, reply, proposal, estimate)
        return proposal

    def _propose_scripted(self, model: str, endpoint: str, context: PromptContext) -> Proposal:
        proposal = self._scripted[model].propose(model, context)
        reply = ChatReply(
            error_kind=proposal.error_kind,
            error_detail=proposal.error_detail,
            latency_s=proposal.latency_s,
        )
        self._log(model, endpoint, "", "", reply, proposal, 0)
        return proposal

    def _proposal(self, model: str, reply: ChatReply, offered: tuple[str, ...]) -> Proposal:
        if reply.error_kind is not None:
            return Proposal(None, reply.error_kind, reply.error_detail)
        vocabulary = tuple(dict.fromkeys(self.transformations + offered))
        return parse_answer(
            reply.text,
            vocabulary,
            self.model_set.names,
            fallback_model=model,
            max_edits=self.max_edits,
        )

    def _log(
        self,
        model: str,
        endpoint: str | None,
        system: str,
        user: str,
        reply: ChatReply,
        proposal: Proposal,
        estimate: int,
    ) -> None:
        if self.log_path is None:
            return
        actions = [
            {"edits": [edit.describe() for edit in a.edits], "next_model": a.next_model}
            for a in proposal.actions
        ]
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": model,
            "endpoint": endpoint,
            "prompt": {"system": system, "user": user},
            "answer": reply.text,
            "prompt_tokens": proposal.prompt_tokens,
            "prompt_tokens_source": "endpoint" if reply.prompt_tokens else "estimate",
            "prompt_tokens_estimate": estimate,
            "completion_tokens": proposal.completion_tokens,
            "latency_s": round(proposal.latency_s, 4),
            "attempts": reply.attempts,
            "outcome": proposal.error_kind or "ok",
            "error_detail": proposal.error_detail,
            "action": actions[0] if actions else None,
            "more": actions[1:],
        }
        line = redact(json.dumps(record, default=str), self._secrets)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # whole lines only: a full disk leaves no half line behind
            append_line(fd, (line + "\n").encode("utf-8"), self.log_path)
        finally:
            os.close(fd)


def scripted_proposers(
    model_set: ModelSet, rng: np.random.Generator
) -> dict[str, ScriptedProposer]:
    """One ``ScriptedProposer`` per scripted model of the set, each on its own generator spawned
    from ``rng`` in the set's order, so one model's draws never shift another's."""
    scripted = [spec for spec in model_set.models if spec.scripted is not None]
    return {
        spec.name: ScriptedProposer(
            spec.scripted,
            spec.recommends,
            rng=child,
            k=spec.scripted_k,
            noise=spec.noise,
            charged_s=spec.charged_s,
            escalate_depth=spec.escalate_depth,
            copies=spec.copies,
        )
        for spec, child in zip(scripted, rng.spawn(len(scripted)), strict=True)
        if spec.scripted is not None  # always true here; it narrows the type for mypy
    }
