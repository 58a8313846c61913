"""Model sets: bundled files, validation, keys (pure, no endpoint)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from colt.errors import UserError
from colt.llm import list_sets, load_model_set, model_set_names
from colt.search.base import ModelInfo


def test_bundled_sets_load() -> None:
    assert {"embedded", "openai", "vllm", "ollama"} <= set(model_set_names())
    for name in model_set_names():
        model_set = load_model_set(name, require_keys=False)
        assert model_set.models and model_set.name == name


def test_embedded_set() -> None:
    model_set = load_model_set("embedded")  # no key needed
    assert model_set.names == ("smollm2-135m", "gemma3-270m")
    assert model_set.largest.name == "gemma3-270m"
    assert model_set.infos() == (ModelInfo("smollm2-135m", 1.35e8), ModelInfo("gemma3-270m", 2.7e8))
    assert model_set.needs_embedded
    assert all(m.structured_output == "json_object_schema" for m in model_set.models)
    assert model_set.spec("gemma3-270m").system_role == "user"


def test_openai_set_mirrors_the_paper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    model_set = load_model_set("openai")
    assert set(model_set.names) == {"gpt-5.2", "gpt-5-mini"}
    assert model_set.largest.name == "gpt-5.2"
    assert all(m.structured_output == "json_schema" for m in model_set.models)
    assert model_set.api_key("gpt-5.2") == "sk-test-not-real"


def test_unknown_set() -> None:
    with pytest.raises(UserError, match="unknown model set 'nope'; valid choices: .*embedded"):
        load_model_set("nope")


def test_missing_key_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError) as caught:
        load_model_set("openai")
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message
    assert message.count(". ") == 0 and "\n" not in message


def test_set_from_file_and_validation(tmp_path: Path) -> None:
    good = tmp_path / "mine.toml"
    good.write_text(
        '[[models]]\nname = "a"\nparameters = 1e9\nbase_url = "http://127.0.0.1:1/v1"\n'
        'model = "a"\n\n[[models]]\nname = "b"\nparameters = 2e9\n'
        'base_url = "http://127.0.0.1:2/v1"\nmodel = "b"\nstructured_output = "none"\n'
    )
    model_set = load_model_set(good)
    assert model_set.name == "mine" and model_set.largest.name == "b"
    assert model_set.restrict(("b",)).names == ("b",)
    with pytest.raises(UserError, match="unknown model"):
        model_set.restrict(("c",))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[models]]\nname = "a"\nparameters = 1e9\nmodel = "a"\nfoo = 1\n')
    with pytest.raises(UserError, match="model set 'bad' is invalid"):
        load_model_set(bad)
    duplicate = tmp_path / "dup.toml"
    duplicate.write_text(good.read_text().replace('name = "b"', 'name = "a"'))
    with pytest.raises(UserError, match="duplicate model names: a"):
        load_model_set(duplicate)
    no_url = tmp_path / "nourl.toml"
    no_url.write_text('[[models]]\nname = "a"\nparameters = 1e9\nmodel = "a"\n')
    with pytest.raises(UserError, match="needs base_url"):
        load_model_set(no_url)
    with pytest.raises(UserError, match="does not exist"):
        load_model_set(tmp_path / "absent.toml")


def test_list_sets_never_shows_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    rows = list_sets()
    assert {row["set"] for row in rows} >= {"embedded", "openai"}
    openai_rows = [row for row in rows if row["set"] == "openai"]
    assert all(row["key_set"] and row["api_key_env"] == "OPENAI_API_KEY" for row in openai_rows)
    assert "sk-test-secret-value" not in repr(rows)
    assert sum(row["largest"] for row in openai_rows) == 1


SCRIPTED = '[[models]]\nname = "s"\nparameters = 1e9\nscripted = "greedy"\n'
SERVED = '[[models]]\nname = "a"\nparameters = 1e9\nbase_url = "http://127.0.0.1:1/v1"\n'


def test_scripted_model_needs_no_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "scripted.toml"
    path.write_text(SCRIPTED + 'recommends = "largest"\nscripted_k = 3\n')
    spec = load_model_set(path).spec("s")
    assert (spec.scripted, spec.recommends, spec.scripted_k) == ("greedy", "largest", 3)
    assert spec.model is None and spec.base_url is None and spec.embedded is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SCRIPTED + 'base_url = "http://127.0.0.1:1/v1"\n', "cannot have base_url"),
        (SCRIPTED + 'embedded = "smollm2-135m-instruct"\n', "cannot have embedded"),
        (SCRIPTED + 'api_key_env = "OPENAI_API_KEY"\n', "cannot have api_key_env"),
        (SCRIPTED.replace('"greedy"', '"clever"'), "models.0.scripted: Input should be"),
        (SCRIPTED + 'recommends = "biggest"\n', "models.0.recommends: Input should be"),
        (SCRIPTED + "scripted_k = 0\n", "models.0.scripted_k: Input should be greater"),
        (SERVED + 'model = "a"\nrecommends = "smallest"\n', "sets recommends, which only"),
        (SERVED + 'model = "a"\nscripted_k = 4\n', "sets scripted_k, which only"),
        (SERVED, "'a' needs model"),
    ],
)
def test_invalid_scripted_specs_are_one_sentence(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError, match="model set 'bad' is invalid") as caught:
        load_model_set(path)
    message = str(caught.value)
    assert expected in message
    assert message.count(". ") == 0 and "\n" not in message


def test_only_models_served_from_another_machine_count_as_remote() -> None:
    from colt.llm.proposer import _served_elsewhere
    from colt.llm.sets import ModelSpec

    def spec(**fields: object) -> ModelSpec:
        return ModelSpec(name="m", parameters=1e9, **fields)  # type: ignore[arg-type]

    assert _served_elsewhere(spec(base_url="https://api.example.com/v1", model="x"))
    assert _served_elsewhere(spec(base_url="http://10.0.0.5:8000/v1", model="x"))
    assert not _served_elsewhere(spec(base_url="http://127.0.0.1:8000/v1", model="x"))
    assert not _served_elsewhere(spec(base_url="http://localhost:11434/v1", model="x"))
    assert not _served_elsewhere(spec(scripted="greedy"))


def test_the_package_lists_every_name_it_resolves_and_loads_the_client_only_when_asked() -> None:
    import colt.llm as package

    assert sorted(package.__all__) == sorted(package._MODULE_OF)
    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        package.nothing  # noqa: B018
    # a random-proposer run reads model sets only: the OpenAI client stays unloaded
    code = "import sys, colt.llm.sets; assert 'openai' not in sys.modules, 'openai loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
