"""The answer schema and the tolerant parser (pure, no endpoint)."""

from __future__ import annotations

import json

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
