"""The engine registry: entry points, options passed to constructors, and missing-dependency messages."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.engine.base import EngineError
from studio.models import registry

PLUGIN = """
class KeywordEngine:
    name = "kw"
    def __init__(self, base_url=None, *, device="auto"):
        self.base_url, self.device = base_url, device

class AnyEngine:
    name = "any"
    def __init__(self, **options):
        self.options = options

class PlainEngine:
    name = "plain"
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "studio_test_plugin.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("KeywordEngine", "AnyEngine", "PlainEngine"):
        monkeypatch.setitem(registry.BUILTIN, name.lower(), f"studio_test_plugin:{name}")
    monkeypatch.setitem(registry.BUILTIN, "ghost", "studio_no_such_module_xyz:Engine")
    yield
    sys.modules.pop("studio_test_plugin", None)


def test_the_builtin_engines_are_registered_as_entry_points() -> None:
    found = registry.available()
    for name in ("mlx", "llamacpp", "cuda", "openai"):
        assert name in found, name
    assert found["openai"] == "studio.engine.openai:OpenAIEngine"


@pytest.mark.usefixtures("plugin")
def test_options_reach_the_constructors_that_take_them() -> None:
    kw = registry.create_engine("keywordengine", base_url="http://h:1/v1", device="cpu", api_key="k")
    assert (kw.base_url, kw.device) == ("http://h:1/v1", "cpu")  # type: ignore[attr-defined]
    anyone = registry.create_engine("anyengine", base_url="u", device=None)
    assert anyone.options == {"base_url": "u"}  # type: ignore[attr-defined]  (None means: the default)
    plain = registry.create_engine("plainengine", base_url="u", device="cpu")
    assert plain.name == "plain"


@pytest.mark.usefixtures("plugin")
def test_a_missing_library_names_the_command_that_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.INSTALL_HINT, "ghost", "pip install ghost-engine")
    with pytest.raises(EngineError, match=r"ghost engine cannot start: .* \(pip install ghost-engine\)"):
        registry.create_engine("ghost")


def test_unknown_engine_lists_the_known_ones() -> None:
    with pytest.raises(EngineError, match="unknown engine 'nope'; available: .*mlx"):
        registry.create_engine("nope")
