"""Test connection follows no redirect (a key never leaves for another host), and warns on plain http."""

from __future__ import annotations

import http.server
from collections.abc import Iterator

import pytest

from studio.engine.base import EngineError
from studio.ui.serverform import ServerForm, list_server_models
from tests.gui.httpserver import counting_server

KEY = "sk-test-0123456789"


class _Target(http.server.BaseHTTPRequestHandler):
    """Where a hostile server redirects to: records the Authorization header it gets."""

    def do_GET(self) -> None:
        self.server.hits.append(self.headers.get("Authorization"))  # type: ignore[attr-defined]
        body = b'{"data": [{"id": "m"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[http.server.ThreadingHTTPServer]:
    with counting_server(_Target) as server:
        yield server


def _redirector(to: str) -> type[http.server.BaseHTTPRequestHandler]:
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.server.hits.append(self.path)  # type: ignore[attr-defined]
            self.send_response(302)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Redirect


def test_test_connection_follows_no_redirect(target) -> None:
    to = f"http://localhost:{target.server_address[1]}/v1/models"  # another host name, same machine
    with counting_server(_redirector(to)) as hostile:
        with pytest.raises(EngineError, match="redirect"):
            list_server_models(f"http://127.0.0.1:{hostile.server_address[1]}/v1", KEY)
        assert hostile.hits == ["/v1/models"]
    assert target.hits == []  # neither the request nor the key went on


def test_a_key_for_plain_http_to_another_machine_is_warned_about(qtbot, monkeypatch) -> None:
    monkeypatch.delenv("STUDIO_API_KEY", raising=False)
    form = ServerForm("https://api.example.com/v1")
    qtbot.addWidget(form)
    form.show()
    form.api_key.setText(KEY)
    assert not form.insecure_note.isVisible()
    form.base_url.setText("http://gpu-box.example:8000/v1")
    assert form.insecure_note.isVisible() and "unencrypted" in form.insecure_note.text()
    form.base_url.setText("http://127.0.0.1:8080/v1")  # loopback: nothing leaves the machine
    assert not form.insecure_note.isVisible()
    form.base_url.setText("http://gpu-box.example:8000/v1")
    form.api_key.setText("")  # no key, nothing to leak
    assert not form.insecure_note.isVisible()
    form.wait_jobs()
