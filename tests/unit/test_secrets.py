"""API keys in the system keyring (studio.store.secrets), with a real in-memory keyring backend."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import chainer, fail
from keyring.errors import KeyringLocked
from memkeyring import MemoryKeyring

from studio.engine.base import EngineError
from studio.store import secrets
from studio.store.secrets import (
    delete_api_key,
    get_api_key,
    keyring_available,
    normalize_base_url,
    resolve_api_key,
    set_api_key,
)
from studio.store.settings import Settings, load_settings, save_settings

KEY = "sk-test-4f1e9c2a77d0b3"
Install = Callable[[keyring.backend.KeyringBackend], keyring.backend.KeyringBackend]


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the keyring is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the keyring is locked")


@pytest.fixture
def use_keyring() -> Iterator[Install]:
    """Install a keyring backend for one test (call it with the backend), then restore the old one."""
    old = keyring.get_keyring()

    def install(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(old)


@pytest.fixture
def memory(use_keyring: Install) -> MemoryKeyring:
    backend = MemoryKeyring()
    use_keyring(backend)
    return backend


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"),
        ("  localhost:11434  ", "http://localhost:11434/v1"),
        ("HTTPS://API.Example.COM/v1/chat/completions", "https://api.example.com/v1"),
        ("https://openrouter.ai/api/v1/models", "https://openrouter.ai/api/v1"),
        ("https://user:secret@host.example/v1?x=1#frag", "https://host.example/v1"),
        ("http://[::1]:8000", "http://[::1]:8000/v1"),
    ],
)
def test_normalize_base_url(url: str, expected: str) -> None:
    assert normalize_base_url(url) == expected


@pytest.mark.parametrize("url", ["", "ftp://host/v1", "http://", "http://host:notaport/v1"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(EngineError):
        normalize_base_url(url)


def test_set_get_delete_round_trip(memory: MemoryKeyring) -> None:
    assert keyring_available()
    assert get_api_key("http://127.0.0.1:8080") is None
    set_api_key("http://127.0.0.1:8080/", f"  {KEY}\n")
    assert memory.store == {("artifacts-studio", "http://127.0.0.1:8080/v1"): KEY}
    # every spelling of the same server finds the key; another server does not
    assert get_api_key("http://127.0.0.1:8080/v1") == KEY
    assert get_api_key("127.0.0.1:8080") == KEY
    assert get_api_key("http://127.0.0.1:8081") is None
    delete_api_key("http://127.0.0.1:8080/v1/")
    assert memory.store == {}
    delete_api_key("http://127.0.0.1:8080")  # deleting nothing is fine


def test_an_empty_key_deletes(memory: MemoryKeyring) -> None:
    set_api_key("http://h:1", KEY)
    set_api_key("http://h:1", "   ")
    assert memory.store == {}


def test_without_a_keyring_set_says_so_and_get_is_none(use_keyring: Install) -> None:
    use_keyring(fail.Keyring())
    assert not keyring_available()
    assert get_api_key("http://h:1") is None
    with pytest.raises(EngineError, match="No system keyring is available"):
        set_api_key("http://h:1", KEY)
    delete_api_key("http://h:1")


def test_a_chainer_counts_only_when_it_chains_a_real_backend(use_keyring: Install) -> None:
    class Empty(chainer.ChainerBackend):
        backends = ()

    class WithMemory(chainer.ChainerBackend):
        backends = (MemoryKeyring(),)

    use_keyring(Empty())
    assert not keyring_available()
    use_keyring(WithMemory())
    assert keyring_available()
    set_api_key("http://h:1", KEY)
    assert get_api_key("http://h:1") == KEY


def test_a_locked_keyring_reads_as_no_key_and_refuses_to_store(
    use_keyring: Install,
    caplog: pytest.LogCaptureFixture,
) -> None:
    use_keyring(LockedKeyring())
    with caplog.at_level(logging.WARNING, logger="studio.store.secrets"):
        assert get_api_key("http://h:1") is None
    assert "KeyringLocked" in caplog.text
    with pytest.raises(EngineError, match="did not store the API key"):
        set_api_key("http://h:1", KEY)


def test_resolve_order(memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://h:1/v1"
    monkeypatch.delenv(secrets.ENV_KEY, raising=False)
    assert resolve_api_key(url) == (None, "none")
    monkeypatch.setenv(secrets.ENV_KEY, "env-key")
    monkeypatch.setenv(secrets.ENV_KEY_URL, url)  # the environment key names its server
    assert resolve_api_key(url) == ("env-key", "environment")
    set_api_key(url, KEY)
    assert resolve_api_key(url) == (KEY, "keyring")
    assert resolve_api_key(url, "arg-key") == ("arg-key", "argument")


def test_the_key_never_lands_in_settings_or_the_log(
    memory: MemoryKeyring, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    with caplog.at_level(logging.DEBUG):
        save_settings(Settings(engine="openai", base_url="http://127.0.0.1:8080/v1"), path)
        set_api_key("http://127.0.0.1:8080/v1", KEY)
        assert resolve_api_key("http://127.0.0.1:8080")[0] == KEY
        settings = load_settings(path)
        save_settings(settings, path)
        delete_api_key("http://127.0.0.1:8080/v1")
    assert settings.base_url == "http://127.0.0.1:8080/v1"
    assert KEY not in path.read_text()
    assert "stored an API key" in caplog.text
    assert KEY not in caplog.text


def test_the_environment_key_goes_only_to_its_own_server(monkeypatch) -> None:
    from studio.store.secrets import resolve_api_key

    monkeypatch.setenv("STUDIO_API_KEY", "sk-env")
    monkeypatch.delenv("STUDIO_API_KEY_URL", raising=False)
    monkeypatch.delenv("STUDIO_BASE_URL", raising=False)
    assert resolve_api_key("http://127.0.0.1:8080/v1") == (None, "none")
    monkeypatch.setenv("STUDIO_BASE_URL", "http://127.0.0.1:8080")
    assert resolve_api_key("http://127.0.0.1:8080/v1") == ("sk-env", "environment")
    assert resolve_api_key("https://evil.example/v1") == (None, "none")
    monkeypatch.setenv("STUDIO_API_KEY_URL", "https://api.example.com/v1")
    assert resolve_api_key("http://127.0.0.1:8080/v1") == (None, "none")
    assert resolve_api_key("https://api.example.com") == ("sk-env", "environment")


def test_plain_http_to_another_machine_is_warned_about() -> None:
    from studio.store.secrets import insecure_key_warning

    assert insecure_key_warning("http://gpu-box:8000/v1") is not None
    for url in ("https://gpu-box/v1", "http://127.0.0.1:8080", "localhost:8080", "http://[::1]:1/v1"):
        assert insecure_key_warning(url) is None, url
