"""The answer side of a call: the JSON schema sent to the endpoint and a tolerant parser.

The schema admits only the vocabulary's transformation names and the set's model names. The
parser accepts what small models actually write: chatty text around the object, code fences,
Python-style quotes, trailing commas, the brace-less Appendix B answer, case and separator
differences ("tile_size" for TileSize) and near-misses ("TileSizes"). Names it cannot map are
counted as errors, never guessed further.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

from colt.search.base import Edit, JointAction, Proposal

MAX_EDITS = 8  # edits per answer; tiny models otherwise list the whole vocabulary repeatedly
_NEAR_MISS_CUTOFF = 0.85  # difflib ratio for accepting a misspelled name


def edit_pattern(transformations: Sequence[str]) -> str:
    """``Name`` or ``Name(key=value, ...)``: at most three short arguments, no nesting, so a
    constrained model cannot ramble inside the parentheses."""
    names = "|".join(re.escape(t) for t in transformations)
    argument = r"[a-z_]{1,12}=[^()=]{1,40}"
    return rf"^({names})(\({argument}(, ?{argument}){{0,2}}\))?$"


def _child_schema(
    transformations: Sequence[str], models: Sequence[str], edit_arguments: bool, max_edits: int
) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "string", "enum": list(transformations)}
    if edit_arguments:
        item = {"type": "string", "pattern": edit_pattern(transformations)}
    return {
        "type": "object",
        "properties": {
            "transformations": {
                "type": "array",
                "items": item,
                "minItems": 1,
                "maxItems": max_edits,
            },
            "next_model": {"type": "string", "enum": list(models)},
        },
        "required": ["transformations", "next_model"],
        "additionalProperties": False,
    }


def answer_schema(
    transformations: Sequence[str],
    models: Sequence[str],
    *,
    edit_arguments: bool = False,
    max_edits: int = MAX_EDITS,
    children: int = 1,
) -> dict[str, Any]:
    """One child: ``{"transformations": [edit...], "next_model": name}`` (Appendix B's form);
    several: ``{"children": [that object, ...]}`` with exactly ``children`` items. Edits are
    enums of the vocabulary's names, or ``Name(key=value, ...)`` with ``edit_arguments``."""
    child = _child_schema(transformations, models, edit_arguments, max_edits)
    if children <= 1:
        return child
    return {
        "type": "object",
        "properties": {
            "children": {
                "type": "array",
                "items": child,
                "minItems": children,
                "maxItems": children,
            }
        },
        "required": ["children"],
        "additionalProperties": False,
    }


def answer_example(
    transformations: Sequence[str],
    models: Sequence[str],
    *,
    children: int = 1,
    edits: Sequence[str] = (),
) -> str:
    """An answer in the form :func:`answer_schema` asks for with the same ``children`` (a
    test keeps the two in step): child i makes ``edits[i]`` when given (legal edits of the
    program, written as the schema allows them), else two bare transformation names."""
    names = list(transformations) or ["Name"]
    model = (list(models) or ["m"])[0]
    made = [
        {
            "transformations": [edits[i % len(edits)]] if edits else [names[0], names[-1]],
            "next_model": model,
        }
        for i in range(max(1, children))
    ]
    return json.dumps(made[0] if children <= 1 else {"children": made})


def response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` request field for a model's ``structured_output`` mode."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "joint_action", "strict": True, "schema": schema},
        }
    if mode == "json_object_schema":  # llama-cpp-python's form
        return {"type": "json_object", "schema": schema}
    return None


def _object_at(text: str, start: int) -> dict[str, Any] | None:
    try:
        found, _ = json.JSONDecoder().raw_decode(text, start)
        return found if isinstance(found, dict) else None
    except json.JSONDecodeError:
        pass
    depth, end = 0, -1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            end = index + 1
            break
    if end < 0:
        return None
    span = re.sub(r",\s*([}\]])", r"\1", text[start:end])
    for loader in (json.loads, ast.literal_eval):
        try:
            found = loader(span)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(found, dict):
            return found
    return None


def extract_object(text: str) -> dict[str, Any] | None:
    """The first object in ``text`` that looks like an answer (else the first object at all)."""
    text = re.sub(r"```(?:json)?", "", text)
    first: dict[str, Any] | None = None
    for match in re.finditer(r"\{", text):
        found = _object_at(text, match.start())
        if found is None:
            continue
        if any(_normalize(str(k)).startswith(("transformation", "children")) for k in found):
            return found
        first = first or found
    if first is None and re.search(r'"transformations"\s*:', text):  # Appendix B, no braces
        body = text[text.index('"transformations"') :].strip().rstrip(",")
        first = _object_at("{" + body.split("}")[0] + "}", 0)
    return first


def _normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def match_name(name: str, valid: Sequence[str]) -> str | None:
    """``name`` mapped onto ``valid``: exact, then case/separator-insensitive, then near-miss."""
    if name in valid:
        return name
    by_key: dict[str, list[str]] = {}
    for candidate in valid:
        by_key.setdefault(_normalize(candidate), []).append(candidate)
    key = _normalize(name)
    if not key:
        return None
    if len(by_key.get(key, ())) == 1:
        return by_key[key][0]
    close = difflib.get_close_matches(key, list(by_key), n=2, cutoff=_NEAR_MISS_CUTOFF)
    if len(close) == 1 and len(by_key[close[0]]) == 1:
        return by_key[close[0]][0]
    return None


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple((str(k), _frozen(v)) for k, v in value.items())
    return value


def _call_arguments(text: str) -> tuple[tuple[str, Any], ...]:
    """``key=value, ...`` with literal values; unreadable arguments are dropped."""
    try:
        call = ast.parse(f"f({text})", mode="eval").body
        assert isinstance(call, ast.Call)
        return tuple((k.arg, _frozen(ast.literal_eval(k.value))) for k in call.keywords if k.arg)
    except (SyntaxError, ValueError, AssertionError, TypeError, MemoryError, RecursionError):
        return ()


def _item_name_and_args(item: Any) -> tuple[str, tuple[tuple[str, Any], ...]]:
    if isinstance(item, dict):
        lowered = {_normalize(str(k)): v for k, v in item.items()}
        for key in ("name", "transformation", "type"):
            if isinstance(lowered.get(key), str):
                args = lowered.get("args", lowered.get("arguments", {}))
                return lowered[key], _frozen(args) if isinstance(args, dict) else ()
        if len(item) == 1:
            name, args = next(iter(item.items()))
            return str(name), _frozen(args) if isinstance(args, dict) else ()
        return json.dumps(item), ()
    text = str(item).strip()
    call = re.match(r"^([A-Za-z_][\w .-]*?)\s*\((.*)\)$", text, re.DOTALL)
    if call:
        return call.group(1), _call_arguments(call.group(2))
    return text, ()


def _field(answer: dict[str, Any], *keys: str) -> Any:
    lowered = {_normalize(str(k)): v for k, v in answer.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def parse_answer(
    text: str,
    transformations: Sequence[str],
    models: Sequence[str],
    *,
    fallback_model: str,
    max_edits: int = MAX_EDITS,
) -> Proposal:
    """A ``Proposal`` (latency and tokens left at zero) from the raw answer text: one child's
    object, or ``{"children": [...]}`` whose usable children become ``action`` and ``more``.

    Unknown transformation names are dropped and reported (``unknown_transformation``); an
    unknown or missing next model keeps the edits with ``fallback_model`` (``unknown_model``).
    """
    answer = extract_object(text or "")
    if answer is None:
        return Proposal(None, "unparsable", "no JSON object in the answer")
    children = _field(answer, "children")
    if isinstance(children, list) and children:
        parsed = [
            _parse_child(c, transformations, models, fallback_model, max_edits)
            if isinstance(c, dict)
            else Proposal(None, "unparsable", "a child is not an object")
            for c in children
        ]
        return _merged(parsed)
    return _parse_child(answer, transformations, models, fallback_model, max_edits)


def _merged(parsed: Sequence[Proposal]) -> Proposal:
    """Several children's parses as one proposal: the usable actions in order, every error
    counted, the first problem named."""
    actions = [p.action for p in parsed if p.action is not None]
    errors = tuple(
        e for p in parsed for e in (p.answer_errors or ((p.error_kind,) if p.error_kind else ()))
    )
    problems = [p for p in parsed if p.error_kind is not None]
    kind = problems[0].error_kind if problems else None
    detail = "; ".join(dict.fromkeys(p.error_detail for p in problems if p.error_detail))
    if not actions:
        return Proposal(None, kind or "unparsable", detail, answer_errors=errors)
    return Proposal(actions[0], kind, detail, answer_errors=errors, more=tuple(actions[1:]))


def _parse_child(
    answer: dict[str, Any],
    transformations: Sequence[str],
    models: Sequence[str],
    fallback_model: str,
    max_edits: int,
) -> Proposal:
    items = _field(answer, "transformations", "transformation", "edits", "actions")
    if isinstance(items, str | dict):
        items = [items]
    if not isinstance(items, list):
        return Proposal(None, "unparsable", "no transformations list in the answer")
    edits, unknown = [], []
    for item in items:
        name, args = _item_name_and_args(item)
        matched = match_name(name, transformations)
        if matched is None:
            unknown.append(name[:60])
        else:
            edits.append(Edit(matched, args))
    raw_model = _field(answer, "nextmodel", "model", "next")
    next_model = match_name(str(raw_model), models) if raw_model is not None else None
    problems = []
    if unknown:
        problems.append("unknown transformations: " + ", ".join(map(repr, unknown)))
    if next_model is None:
        problems.append(f"unknown next_model {str(raw_model)[:60]!r}")
    kind = "unknown_transformation" if unknown else "unknown_model" if problems else None
    # The paper's error count: each invalid transformation and an invalid model name, once.
    counted = ("unknown_transformation",) * len(unknown) + (
        ("unknown_model",) if next_model is None else ()
    )
    if not edits:
        kind = kind if unknown else "unparsable"
        detail = "; ".join(problems) or "empty transformations list"
        return Proposal(None, kind, detail, answer_errors=counted if unknown else ())
    action = JointAction(tuple(edits[:max_edits]), next_model or fallback_model)
    return Proposal(action, kind, "; ".join(problems), answer_errors=counted)
