"""One chat client for every endpoint (OpenAI, vLLM, Ollama, llama-cpp-python), via ``openai``.

``ChatClient.complete`` never raises for endpoint faults: timeouts, refused connections, HTTP
errors and unreadable bodies come back as a ``ChatReply`` with an ``error_kind`` from
``ERROR_KINDS``. Transient faults are retried a bounded number of times with exponential
backoff (tenacity). The API key goes only into the client's Authorization header; every
text that leaves this module passes ``redact``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import openai
import tenacity

from colt.llm.answers import response_format
from colt.llm.sets import ModelSpec

_RETRIED_STATUS = {408, 409, 429, 500, 502, 503, 504}
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_-]{6,}|Bearer\s+\S+)")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret and anything shaped like an API key replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***").replace(json.dumps(secret)[1:-1], "***")
    return _KEY_LIKE.sub("***", text)


@dataclass(frozen=True)
class ChatReply:
    """One completed call (after retries): the answer text or an error, with its cost."""

    text: str = ""
    error_kind: str | None = None  # one of ERROR_KINDS, or None
    error_detail: str = ""
    latency_s: float = 0.0  # all attempts and backoff included
    prompt_tokens: int | None = None  # None: the endpoint reported no usage
    completion_tokens: int | None = None
    attempts: int = 1


class _Fault(Exception):
    def __init__(self, kind: str, detail: str, *, retry: bool) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.retry = kind, detail, retry


def _classify(error: Exception) -> _Fault:
    if isinstance(error, openai.APITimeoutError):
        return _Fault("timeout", "the endpoint did not answer in time", retry=True)
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__ or error.__context__
        detail = f"cannot connect: {cause or error}"
        return _Fault("connection_refused", detail[:300], retry=True)
    if isinstance(error, openai.APIStatusError):
        detail = f"HTTP {error.status_code}: {str(error.message)[:300]}"
        return _Fault("http_error", detail, retry=error.status_code in _RETRIED_STATUS)
    return _Fault(
        "unparsable", f"unreadable response: {type(error).__name__}: {error}"[:300], retry=False
    )


class ChatClient:
    """Calls one model of a set; ``complete`` is synchronous and leaves nothing running."""

    def __init__(
        self,
        spec: ModelSpec,
        api_key: str | None,
        *,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self._secrets = (api_key,)
        self._backoff_s, self._sleep, self._clock = backoff_s, sleep, clock
        # An explicit placeholder keeps the package from sending OPENAI_API_KEY to local servers.
        self._client = openai.OpenAI(
            base_url=spec.base_url,
            api_key=api_key or "no-key",
            timeout=spec.timeout_s,
            max_retries=0,  # retries are ours (tenacity): bounded, classified, counted
        )

    def close(self) -> None:
        self._client.close()

    def _request(
        self, system: str, user: str, schema: dict[str, Any] | None, max_tokens: int | None
    ) -> dict[str, Any]:
        spec = self.spec
        if spec.system_role == "user":
            messages = [{"role": "user", "content": f"{system}\n\n{user}"}]
        else:
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        request: dict[str, Any] = {"model": spec.model, "messages": messages}
        request[spec.max_tokens_field] = max_tokens or spec.max_tokens
        if spec.temperature is not None:
            request["temperature"] = spec.temperature
        if schema is not None and (fmt := response_format(spec.structured_output, schema)):
            request["response_format"] = fmt
        return request

    def _once(self, request: dict[str, Any], deadline: float) -> ChatReply:
        try:
            if self.spec.stream:
                return self._streamed(request, deadline)
            completion: Any = self._client.chat.completions.create(**request)
            if isinstance(completion, str):  # a body that is not JSON
                raise _Fault(
                    "unparsable", f"not a chat completion: {completion[:120]!r}", retry=False
                )
            text = completion.choices[0].message.content or ""
            usage = completion.usage
        except _Fault:
            raise
        except Exception as error:  # the package's errors, and bodies it cannot read
            raise _classify(error) from None
        return ChatReply(
            text,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
        )

    def _streamed(self, request: dict[str, Any], deadline: float) -> ChatReply:
        """Streams so that closing the connection stops a local server's generation."""
        pieces: list[str] = []
        usage = None
        stream = self._client.chat.completions.create(**request, stream=True)
        try:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                usage = chunk.usage or usage
                if self._clock() > deadline:
                    raise _Fault("timeout", "the answer took too long", retry=True)
        finally:
            stream.close()
        return ChatReply(
            "".join(pieces),
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else len(pieces),
        )

    def complete(
        self,
        system: str,
        user: str,
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatReply:
        """One answer, or an error reply after at most ``1 + spec.retries`` attempts."""
        request = self._request(system, user, schema, max_tokens)
        start = self._clock()
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.spec.retries + 1),
            wait=tenacity.wait_exponential(multiplier=self._backoff_s),  # 0.5 s, 1 s, 2 s, ...
            retry=tenacity.retry_if_exception(lambda error: getattr(error, "retry", False)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            reply = retrying(lambda: self._once(request, self._clock() + self.spec.timeout_s))
        except _Fault as fault:
            detail = redact(fault.detail, self._secrets)
            attempts = retrying.statistics.get("attempt_number", 1)
            return ChatReply("", fault.kind, detail, self._clock() - start, attempts=attempts)
        attempts = retrying.statistics.get("attempt_number", 1)
        return dataclasses.replace(reply, latency_s=self._clock() - start, attempts=attempts)
