"""Test connection's HTTP (list_server_models, httpx2): proxies, query strings, one-line errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import openai_stub as stub_mod
import pytest
from forward_proxy import forward_proxy

from studio.engine.base import EngineError
from studio.ui.serverform import list_server_models

KEY = "sk-form-0123456789"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with stub_mod.stub_server() as srv:
        srv.cfg.models = ["a", "b"]
        yield srv


def test_lists_the_models_through_the_proxy_in_the_environment(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert list_server_models(server.url, None) == ["a", "b"]
        assert proxy.seen == [f"GET {server.url}/models"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert list_server_models(server.url, None) == ["a", "b"]
        assert len(proxy.seen) == 1 and len(server.requests) == 2


def test_keeps_the_query_string_and_sends_the_key(server: Any) -> None:
    server.cfg.api_key = KEY
    assert list_server_models(server.url + "?api-version=2024-10-21", KEY) == ["a", "b"]
    assert server.requests[-1].path == "/v1/models?api-version=2024-10-21"
    assert server.requests[-1].headers["Authorization"] == f"Bearer {KEY}"
    with pytest.raises(EngineError, match=r"answered 401 Unauthorized \(check the API key\)"):
        list_server_models(server.url, "sk-wrong")


def test_errors_are_one_line(server: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        EngineError, match=rf"Can't reach the server at http://127.0.0.1:{port}/v1: is it running"
    ):
        list_server_models(f"http://127.0.0.1:{port}/v1", None)
    with pytest.raises(
        EngineError, match=r"Can't find the host 'no-such-host.invalid' \(DNS lookup failed\)"
    ):
        list_server_models("http://no-such-host.invalid:8080/v1", None)
    server.cfg.models_body = b"<html>hello</html>"
    with pytest.raises(EngineError, match="did not answer JSON"):
        list_server_models(server.url, None)


def test_use_hands_the_query_string_on_to_the_engine(qtbot: Any, server: Any) -> None:
    from studio.engine.openai import OpenAIEngine
    from studio.ui.serverform import ServerForm

    form = ServerForm(None)
    qtbot.addWidget(form)
    form.base_url.setText(server.url + "/?api-version=2024-10-21")
    form.model.setCurrentText("a")
    with qtbot.waitSignal(form.useRequested, timeout=10_000) as got:
        form.use()
    form.wait_jobs()
    options = got.args[1]
    assert options["base_url"] == server.url + "?api-version=2024-10-21"
    eng = OpenAIEngine(options["base_url"])
    eng.load("a")
    eng.close()
    assert server.requests[-1].path == "/v1/models?api-version=2024-10-21"
