"""The answer schema and the tolerant parser (pure, no endpoint)."""

from __future__ import annotations

import json
import re

import pytest

from colt.llm.answers import (
    answer_schema,
    extract_object,
    match_name,
    parse_answer,
    response_format,
)
from colt.search.base import ERROR_KINDS, Edit

VOCABULARY = ("TileSize", "ComputeLocation", "Parallel", "Unroll")
MODELS = ("gpt-5-mini", "gpt-5.2")


def _parse(text: str):  # type: ignore[no-untyped-def]
    return parse_answer(text, VOCABULARY, MODELS, fallback_model="gpt-5.2")


def test_good_answer() -> None:
    proposal = _parse('{"transformations": ["TileSize", "Unroll"], "next_model": "gpt-5-mini"}')
    assert proposal.error_kind is None and proposal.action is not None
    assert proposal.action.edits == (Edit("TileSize"), Edit("Unroll"))
    assert proposal.action.next_model == "gpt-5-mini"


def test_chatty_answer_with_fence_and_trailing_comma() -> None:
    text = (
        "Sure! Looking at the scores, tiling helps.\n```json\n"
        '{"transformations": ["Parallel", "TileSize",], "next_model": "gpt-5.2",}\n```\n'
        "Hope this helps {not json}."
    )
    proposal = _parse(text)
    assert proposal.error_kind is None and proposal.action is not None
    assert [e.name for e in proposal.action.edits] == ["Parallel", "TileSize"]


def test_appendix_b_answer_without_braces() -> None:
    text = (
        '"transformations": [ "TileSize", "TileSize", "ComputeLocation", "Parallel", "Unroll"\n'
        '], "next_model": "gpt-5-mini",'
    )
    proposal = _parse(text)
    assert proposal.error_kind is None and proposal.action is not None
    assert len(proposal.action.edits) == 5 and proposal.action.next_model == "gpt-5-mini"


def test_python_quotes_and_key_case() -> None:
    proposal = _parse("{'Transformations': ['unroll'], 'Next_Model': 'GPT-5-MINI'}")
    assert proposal.error_kind is None and proposal.action is not None
    assert proposal.action.edits == (Edit("Unroll"),)
    assert proposal.action.next_model == "gpt-5-mini"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("tile_size", "TileSize"),
        ("TILESIZE", "TileSize"),
        ("TileSizes", "TileSize"),
        ("compute-location", "ComputeLocation"),
        ("Paralel", "Parallel"),
        ("Vectorize", None),
        ("Tile", None),
        ("", None),
    ],
)
def test_near_miss_names(given: str, expected: str | None) -> None:
    assert match_name(given, VOCABULARY) == expected


def test_unknown_transformation_is_counted_and_dropped() -> None:
    proposal = _parse('{"transformations": ["tile_size", "Vectorize"], "next_model": "gpt-5.2"}')
    assert proposal.error_kind == "unknown_transformation"
    assert "Vectorize" in proposal.error_detail
    assert proposal.action is not None and proposal.action.edits == (Edit("TileSize"),)


def test_only_unknown_transformations() -> None:
    proposal = _parse('{"transformations": ["Fullname1", "..."], "next_model": "gpt-5.2"}')
    assert proposal.error_kind == "unknown_transformation" and proposal.action is None


def test_unknown_model_keeps_edits_with_fallback() -> None:
    proposal = _parse('{"transformations": ["Parallel"], "next_model": "claude-9"}')
    assert proposal.error_kind == "unknown_model"
    assert proposal.action is not None and proposal.action.next_model == "gpt-5.2"
    missing = _parse('{"transformations": ["Parallel"]}')
    assert missing.error_kind == "unknown_model" and missing.action is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no json here at all",
        "{broken: [",
        '{"transformations": [], "next_model": "gpt-5.2"}',
        '{"next_model": "gpt-5.2"}',
        '{"transformations": 7, "next_model": "gpt-5.2"}',
    ],
)
def test_garbage_is_unparsable(text: str) -> None:
    proposal = _parse(text)
    assert proposal.error_kind == "unparsable" and proposal.action is None


def test_arguments_in_calls_and_objects() -> None:
    text = json.dumps(
        {
            "transformations": [
                "TileSize(loop=1, factors=[2, 64])",
                {"name": "Unroll", "args": {"max_step": 64}},
                {"Parallel": {"extent": 4}},
                "ComputeLocation(this is not python)",
            ],
            "next_model": "gpt-5.2",
        }
    )
    proposal = _parse(text)
    assert proposal.error_kind is None and proposal.action is not None
    tile, unroll, parallel, location = proposal.action.edits
    assert tile == Edit("TileSize", (("loop", 1), ("factors", (2, 64))))
    assert unroll.arg("max_step") == 64 and parallel.arg("extent") == 4
    assert location == Edit("ComputeLocation")  # unreadable arguments are dropped
    hash(proposal.action)  # frozen and hashable


def test_edits_are_capped() -> None:
    text = json.dumps({"transformations": ["Unroll"] * 20, "next_model": "gpt-5.2"})
    proposal = parse_answer(text, VOCABULARY, MODELS, fallback_model="gpt-5.2", max_edits=3)
    assert proposal.action is not None and len(proposal.action.edits) == 3


def test_extract_prefers_the_answer_object() -> None:
    text = 'Example: {"a": 1}. Mine: {"transformations": ["Unroll"], "next_model": "x"}'
    found = extract_object(text)
    assert found is not None and "transformations" in found


def test_schema_enums_and_formats() -> None:
    schema = answer_schema(VOCABULARY, MODELS)
    items = schema["properties"]["transformations"]
    assert items["items"]["enum"] == list(VOCABULARY) and items["minItems"] == 1
    assert schema["properties"]["next_model"]["enum"] == list(MODELS)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])  # OpenAI strict mode
    strict = response_format("json_schema", schema)
    assert strict is not None and strict["json_schema"]["strict"] is True
    assert response_format("json_object_schema", schema) == {
        "type": "json_object",
        "schema": schema,
    }
    assert response_format("none", schema) is None
    with_args = answer_schema(VOCABULARY, MODELS, edit_arguments=True)
    assert with_args["properties"]["transformations"]["items"]["pattern"].startswith("^(TileSize|")


def test_error_kinds_are_the_contract() -> None:
    kinds = [_parse(t).error_kind for t in ("", '{"transformations": ["X"], "next_model": "y"}')]
    assert kinds == ["unparsable", "unknown_transformation"]
    assert set(kinds) <= set(ERROR_KINDS)


def test_each_invalid_name_in_an_answer_counts_once() -> None:
    answer = '{"transformations": ["Warp", "Up", "Bend"], "next_model": "huge"}'
    proposal = parse_answer(answer, ["Up", "Down"], ["small", "large"], fallback_model="small")
    assert sorted(proposal.answer_errors) == [
        "unknown_model",
        "unknown_transformation",
        "unknown_transformation",
    ]


def test_a_multi_child_answer_gives_one_action_per_child() -> None:
    text = (
        '{"children": [{"transformations": ["TileSize(loop=\'i\', factors=[4, 8])"], '
        '"next_model": "gpt-5-mini"}, {"transformations": ["Unroll"], "next_model": "gpt-5.2"}]}'
    )
    proposal = _parse(text)
    assert proposal.error_kind is None
    assert [a.next_model for a in proposal.actions] == ["gpt-5-mini", "gpt-5.2"]
    assert proposal.actions[0].edits == (Edit("TileSize", (("loop", "i"), ("factors", (4, 8)))),)
    assert proposal.more[0].edits == (Edit("Unroll"),)


def test_a_bad_child_is_counted_and_the_good_ones_are_kept() -> None:
    text = (
        '{"children": [{"transformations": ["Nonsense"], "next_model": "gpt-5-mini"}, '
        '{"transformations": ["Parallel"], "next_model": "gpt-5.2"}]}'
    )
    proposal = _parse(text)
    assert proposal.error_kind == "unknown_transformation"
    assert proposal.answer_errors == ("unknown_transformation",)
    assert [a.edits for a in proposal.actions] == [(Edit("Parallel"),)]


def _conforms(value: object, schema: dict) -> bool:  # type: ignore[type-arg]
    """The part of JSON Schema ``answer_schema`` uses: object, array, string enum/pattern."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict) or set(value) - set(schema["properties"]):
            return False
        return all(k in value for k in schema.get("required", ())) and all(
            _conforms(v, schema["properties"][k]) for k, v in value.items()
        )
    if kind == "array":
        ok = isinstance(value, list)
        ok = ok and schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1 << 30)
        return ok and all(_conforms(v, schema["items"]) for v in value)
    if kind == "string":
        if not isinstance(value, str):
            return False
        if "enum" in schema:
            return value in schema["enum"]
        return re.match(schema["pattern"], value) is not None
    raise AssertionError(f"schema kind {kind!r} not covered")


@pytest.mark.parametrize("children", [1, 2, 3])
@pytest.mark.parametrize("arguments", [False, True])
def test_the_prompt_shows_the_form_the_schema_asks_for(children: int, arguments: bool) -> None:
    """The format in the system text and the example at the end of the user text are instances
    of the schema the call sends, and parse back into ``children`` actions."""
    from colt.llm.prompt import build_prompt
    from colt.search.base import ModelInfo, NodeView, PromptContext

    preview = [(Edit("TileSize", (("loop", "i"), ("factors", (4, 8, 16)))), 0.9)]
    preview += [(Edit("Unroll", (("value", 64),)), 0.5)]
    context = PromptContext(
        current=NodeView.of("program", ("step",), 0.5, "gpt-5-mini", 1),
        parent=None,
        grandparent=None,
        transformations=VOCABULARY,
        transformation_help={},
        models=tuple(ModelInfo(m, 1e9 * (i + 1)) for i, m in enumerate(MODELS)),
        model_stats={},
        leaf_depth=1,
        trials_done=0,
        trials_total=8,
        preview=lambda k: preview[:k],
        children=children,
    )
    schema = answer_schema(VOCABULARY, MODELS, edit_arguments=arguments, children=children)
    system, user = build_prompt(
        context, max_prompt_tokens=8000, edit_arguments=arguments, examples=4
    )
    shown = [system.rsplit("\n", 1)[1]] + ([user.rsplit("\n", 1)[1]] if arguments else [])
    for text in shown:
        assert _conforms(json.loads(text), schema), text
        assert len(_parse(text).actions) == children
    if arguments:
        assert "TileSize(loop='i', factors=[4, 8, 16])" in user.rsplit("\n", 1)[1]


def test_the_edit_pattern_takes_arguments_but_no_rambling() -> None:
    pattern = answer_schema(VOCABULARY, MODELS, edit_arguments=True)["properties"][
        "transformations"
    ]["items"]["pattern"]
    assert re.match(pattern, "TileSize(loop='i', factors=[4, 8, 16])")
    assert re.match(pattern, "Unroll(value=64)") and re.match(pattern, "Parallel")
    assert not re.match(pattern, "Unroll(value=" + "1" * 80 + ")")
    assert not re.match(pattern, "Tile(x=1)")
