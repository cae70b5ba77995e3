"""Settings in the per-user config folder, and where the library lives."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from studio.store import paths
from studio.store.settings import Settings, load_settings, save_settings, with_overrides


def test_round_trip_and_unknown_keys_kept(tmp_path: Path) -> None:
    target = tmp_path / "cfg" / "settings.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"temperature": 0.7, "theme": "dark", "tint": "teal"}), encoding="utf-8")
    s = load_settings(target)
    assert s.temperature == 0.7 and s.max_tokens == 4096 and s.theme == "dark" and s.extra == {"tint": "teal"}
    changed = with_overrides(s, model="/models/qwen", allow_network=True, system_prompt="Be brief")
    save_settings(changed, target)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert (
        data["theme"] == "dark"
        and data["tint"] == "teal"
        and data["model"] == "/models/qwen"
        and data["allow_network"] is True
    )
    assert load_settings(target) == changed
    assert list(target.parent.iterdir()) == [target]  # no temp file left behind


def test_defaults_when_missing_or_broken(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert load_settings(tmp_path / "none.json") == Settings()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="studio.store.settings"):
        assert load_settings(bad) == Settings()
    assert "not valid JSON" in caplog.text
    assert bad.read_text(encoding="utf-8") == "{not json"  # never overwritten behind the user's back
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps({"temperature": "hot", "max_tokens": -5, "engine": "mlx", "allow_network": 1})
    )
    s = load_settings(wrong)
    assert (s.temperature, s.max_tokens, s.allow_network) == (0.2, 4096, False)


def test_flags_override_only_when_given() -> None:
    base = Settings(model="a", temperature=0.5)
    assert with_overrides(base, model=None, temperature=None) == base
    assert with_overrides(base, temperature=0.0).temperature == 0.0
    with pytest.raises(TypeError):
        with_overrides(base, colour="red")
    with pytest.raises(ValueError):
        Settings(max_tokens=0)


def test_data_dir_order_flag_then_env_then_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(paths.ENV_DATA_DIR, raising=False)
    default = paths.data_dir()
    assert default.name == paths.DIR_NAME
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path / "env"))
    assert paths.library_path() == tmp_path / "env" / "library.db"
    assert paths.data_dir(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.setenv(paths.ENV_CONFIG_DIR, str(tmp_path / "conf"))
    assert paths.settings_path() == tmp_path / "conf" / "settings.json"


def test_every_per_user_path_follows_its_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path / "env"))
    monkeypatch.setenv(paths.ENV_CONFIG_DIR, str(tmp_path / "conf"))
    monkeypatch.setenv(paths.ENV_LOG_DIR, str(tmp_path / "logs"))
    assert paths.artifact_state_dir() == tmp_path / "env" / "artifact-state"
    assert paths.artifact_state_dir(tmp_path / "flag") == tmp_path / "flag" / "artifact-state"  # --data-dir
    assert paths.window_state_path() == tmp_path / "conf" / "window.ini"
    assert paths.log_dir() == tmp_path / "logs"


def test_the_atomic_json_writer_leaves_no_temporary_file(tmp_path: Path) -> None:
    from studio.store.settings import write_json_atomic

    target = write_json_atomic(tmp_path / "deep" / "models.json", {"models": [{"path": "/ü"}]})
    assert json.loads(target.read_text(encoding="utf-8")) == {"models": [{"path": "/ü"}]}
    assert [p.name for p in target.parent.iterdir()] == ["models.json"]


def test_speculative_settings_round_trip_and_bad_values(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    assert (Settings().prompt_lookup, Settings().draft_model) == (None, None)
    save_settings(with_overrides(Settings(), prompt_lookup=False, draft_model="/models/qwen-0.5b"), target)
    s = load_settings(target)
    assert (s.prompt_lookup, s.draft_model) == (False, "/models/qwen-0.5b")
    target.write_text(json.dumps({"prompt_lookup": "yes", "draft_model": 5}), encoding="utf-8")
    assert (load_settings(target).prompt_lookup, load_settings(target).draft_model) == (None, None)


def test_cache_dir_order_flag_then_env_then_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(paths.ENV_CACHE_DIR, raising=False)
    assert paths.cache_dir().name == paths.DIR_NAME
    monkeypatch.setenv(paths.ENV_CACHE_DIR, str(tmp_path / "env"))
    assert paths.prompt_state_dir() == tmp_path / "env" / paths.PROMPT_STATE_DIR
    assert paths.cache_dir(tmp_path / "flag") == tmp_path / "flag"
