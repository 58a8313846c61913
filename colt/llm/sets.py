"""Model sets: one TOML file per set, validated with pydantic.

A set lists the models that share the search tree. Each model names its endpoint
(``base_url`` + ``model`` id), how to constrain its answers (``structured_output``) and the
*name* of the environment variable that holds its API key, never the key itself. Models of the
embedded set have no ``base_url`` in the file: ``colt.llm.servers`` starts local servers for
them and fills it in. A *scripted* model (``colt.search.scripted``) has no endpoint at all: it
stands in for an LLM of known quality where none can be served.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from colt.errors import UserError, unknown_choice
from colt.llm.weights import EMBEDDED_WEIGHTS
from colt.search.base import ModelInfo
from colt.search.scripted import DEFAULT_K, Policy, Recommends

StructuredOutput = Literal["json_schema", "json_object_schema", "none"]
# fields a served model must not set
_SCRIPTED_ONLY = frozenset(
    {"recommends", "scripted_k", "noise", "charged_s", "escalate_depth", "copies"}
)
_SERVED_ONLY = frozenset({"base_url", "embedded", "api_key_env"})  # ... nor a scripted one


class ModelSpec(BaseModel):
    """One model of a set: identity, endpoint, output constraint and call limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    parameters: float = Field(gt=0)  # parameter count, drives the size-aware prior
    base_url: str | None = None  # OpenAI-compatible root, e.g. http://127.0.0.1:8000/v1
    model: str | None = None  # model id sent to the endpoint; required unless scripted
    api_key_env: str | None = None  # NAME of the variable holding the key; None: no key
    structured_output: StructuredOutput = "json_schema"
    timeout_s: float = Field(default=60.0, gt=0)  # whole call, per attempt
    max_tokens: int = Field(default=256, gt=0)  # answer budget
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    temperature: float | None = Field(default=None, ge=0)  # None: the endpoint default
    context_window: int = Field(default=8192, gt=256)  # tokens, prompt + answer
    retries: int = Field(default=2, ge=0, le=5)  # extra attempts after a transient fault
    stream: bool = False  # stream the answer: a timed-out call stops the server's generation
    system_role: Literal["system", "user"] = "system"  # "user": system text joins the user turn
    edit_arguments: bool = False  # allow "Name(key=value, ...)" edits in the answer schema
    # Legal edits of the current program (with arguments and predicted scores) the prompt shows
    # as examples; only with edit_arguments.
    examples: int = Field(default=0, ge=0, le=16)
    # At most this many prompt tokens (None: what the context window leaves): on a CPU a call
    # costs about its new prompt tokens, so a small budget makes the prompt shrink its code.
    prompt_tokens: int | None = Field(default=None, gt=128)
    embedded: str | None = None  # key of colt.llm.weights.EMBEDDED_WEIGHTS; served locally
    scripted: Policy | None = None  # a scripted stand-in instead of an endpoint
    recommends: Recommends = "self"  # a scripted model's next-model choice
    scripted_k: int = Field(default=DEFAULT_K, ge=1)  # candidates a scripted model compares
    # decisions an oracle copies from the nearest known schedule per action (guide "copy")
    copies: int = Field(default=1, ge=1, le=32)
    noise: float = Field(default=0.0, ge=0, le=1)  # chance a call takes a random candidate
    charged_s: float = Field(default=0.0, ge=0)  # seconds each call is charged to the run
    escalate_depth: int | None = Field(default=None, ge=1)  # "escalate": from this depth on

    @model_validator(mode="after")
    def _endpoint_known(self) -> ModelSpec:
        return self._scripted_alone() if self.scripted is not None else self._served_complete()

    def _served_complete(self) -> ModelSpec:
        stray = sorted(_SCRIPTED_ONLY & self.model_fields_set)
        if stray:
            fields = " and ".join(stray)
            raise ValueError(f"model {self.name!r} sets {fields}, which only a scripted model uses")
        if self.model is None:
            raise ValueError(
                f"model {self.name!r} needs model (the id its endpoint knows it by) or scripted"
            )
        if self.embedded is not None and self.embedded not in EMBEDDED_WEIGHTS:
            raise ValueError(f"unknown embedded weights {self.embedded!r}")
        if self.embedded is None and not self.base_url:
            raise ValueError(f"model {self.name!r} needs base_url (or embedded)")
        return self

    @property
    def needs_embedded(self) -> bool:
        """Served by an embedded server COLT starts (local weights, no base_url given)."""
        return self.embedded is not None and not self.base_url

    def _scripted_alone(self) -> ModelSpec:
        # A key variable would be demanded at load time, a base_url or weights would suggest a
        # server: all three say the file mixes up a scripted model and a served one.
        served = sorted(_SERVED_ONLY & self.model_fields_set)
        if served:
            fields = " or ".join(served)
            raise ValueError(
                f"scripted model {self.name!r} cannot have {fields}: it calls no endpoint"
            )
        if self.escalate_depth is not None and self.recommends != "escalate":
            raise ValueError(
                f"scripted model {self.name!r} sets escalate_depth, which only "
                'recommends = "escalate" uses'
            )
        return self


class ModelSet(BaseModel):
    """The candidate models of one run; ``largest`` is the course-alteration model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    models: tuple[ModelSpec, ...] = Field(min_length=1)
    # Where an oracle model's knowledge comes from: a record library directory (relative: to
    # the set's file; None: the run's own library), read as ``guide`` says
    # (``colt.schedule.oracle``): ``distance`` to the ``reference_count`` fastest traces of the
    # workload, ``latency`` as a cost model trained on all of its measured records predicts, or
    # ``copy``: ``distance``, and the edits that copy the nearest of those traces' decisions.
    references: str | None = None
    reference_count: int = Field(default=8, ge=1)
    guide: Literal["distance", "latency", "copy"] = "distance"

    @model_validator(mode="after")
    def _unique_names(self) -> ModelSet:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate model names: {', '.join(duplicates)}")
        oracle_fields = self.references is not None or "guide" in self.model_fields_set
        if oracle_fields and not self.has_oracle:
            raise ValueError(
                'references and guide are read only by a scripted = "oracle" model, and the set '
                "has none"
            )
        return self

    @property
    def has_oracle(self) -> bool:
        return any(m.scripted == "oracle" for m in self.models)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    @property
    def largest(self) -> ModelSpec:
        return max(self.models, key=lambda m: m.parameters)

    @property
    def needs_embedded(self) -> bool:
        return any(m.needs_embedded for m in self.models)

    def infos(self) -> tuple[ModelInfo, ...]:
        return tuple(ModelInfo(m.name, m.parameters) for m in self.models)

    def spec(self, name: str) -> ModelSpec:
        for model in self.models:
            if model.name == name:
                return model
        raise unknown_choice("model", name, self.names)

    def restrict(self, names: tuple[str, ...]) -> ModelSet:
        """The set limited to ``names`` (empty: unchanged), in the file's order."""
        if not names:
            return self
        for name in names:
            self.spec(name)
        kept = tuple(m for m in self.models if m.name in names)
        return self.model_copy(update={"models": kept})

    def with_base_urls(self, urls: dict[str, str]) -> ModelSet:
        models = tuple(
            m.model_copy(update={"base_url": urls[m.name]}) if m.name in urls else m
            for m in self.models
        )
        return self.model_copy(update={"models": models})

    def missing_keys(self) -> tuple[str, ...]:
        """Names of the api_key_env variables that are unset or empty."""
        wanted = [m.api_key_env for m in self.models if m.api_key_env]
        return tuple(dict.fromkeys(v for v in wanted if not os.environ.get(v)))

    def api_key(self, name: str) -> str | None:
        env = self.spec(name).api_key_env
        return os.environ.get(env) if env else None


def _bundled_dir() -> Path:
    return Path(str(resources.files("colt.llm") / "sets"))


def model_set_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in _bundled_dir().glob("*.toml")))


def _resolve_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise UserError(f"model set file {str(path)!r} does not exist")
        return path
    if str(name_or_path) not in model_set_names():
        raise unknown_choice("model set", str(name_or_path), model_set_names())
    return _bundled_dir() / f"{name_or_path}.toml"


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def load_model_set(name_or_path: str | Path, *, require_keys: bool = True) -> ModelSet:
    """Loads a bundled set by name or a TOML file by path.

    With ``require_keys`` a set whose ``api_key_env`` variable is unset is a ``UserError``
    naming that variable; the key itself is read only when a client is made.
    """
    path = _resolve_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UserError(f"cannot read model set {str(path)!r}: {error}") from None
    data.setdefault("name", path.stem)
    if isinstance(data.get("references"), str):  # a relative library lies beside the file
        data["references"] = str(path.parent / Path(data["references"]).expanduser())
    try:
        model_set = ModelSet.model_validate(data)
    except ValidationError as error:
        raise UserError(f"model set {path.stem!r} is invalid: {_first_error(error)}") from None
    missing = model_set.missing_keys()
    if require_keys and missing:
        plural = len(missing) > 1
        variables = " and ".join(missing)
        noun = (
            "keys from the environment variables" if plural else "key from the environment variable"
        )
        raise UserError(
            f"model set {model_set.name!r} reads its API {noun} {variables}, "
            f"which {'are' if plural else 'is'} not set"
        )
    return model_set
