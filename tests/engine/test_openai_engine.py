"""The OpenAI-compatible engine against a scripted server (tests/fixtures/openai_stub.py).

The real-server tests (mlx_lm.server) are in test_openai_server.py; these cover what a real server
will not do on demand: refuse keys, fail, stall, drop the connection, send malformed events.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai_stub as stub_mod
import pytest
from memkeyring import MemoryKeyring, installed

from studio.engine.base import (
    CancelToken,
    ChatMessage,
    Chunk,
    Engine,
    GenerationParams,
    ModelLoadError,
    collect,
)
from studio.engine.openai import OpenAIEngine

MSGS: list[ChatMessage] = [{"role": "user", "content": "hi"}]
KEY = "sk-stub-9d8c7b6a5f4e"


@pytest.fixture
def server() -> Iterator[Any]:
    with stub_mod.stub_server() as srv:
        yield srv


@pytest.fixture
def engine(server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIEngine]:
    monkeypatch.delenv("STUDIO_API_KEY", raising=False)
    eng = OpenAIEngine(server.url, connect_timeout=2, stall_timeout=1)
    eng.load("stub-model")
    yield eng
    eng.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(engine: OpenAIEngine, params: GenerationParams | None = None) -> tuple[str, Chunk]:
    done = collect(engine.stream_chat(MSGS, params))
    return done.text, done.last


# ---------------------------------------------------------------------- load


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_load_accepts_base_urls_with_or_without_v1(server: Any, suffix: str) -> None:
    base = server.url.removesuffix("/v1") + suffix
    eng = OpenAIEngine(base)
    assert isinstance(eng, Engine)
    info = eng.load("stub-model")
    assert (info.engine, info.name, info.path) == ("openai", "stub-model", server.url)
    assert eng.model == info
    assert server.requests[-1].path == "/v1/models"


def test_load_names_what_the_server_serves(server: Any) -> None:
    server.cfg.models = ["qwen2.5-coder:7b", "llama3:latest"]
    eng = OpenAIEngine(server.url)
    with pytest.raises(
        ModelLoadError, match=r"does not serve model 'gpt-4'; it serves: qwen2.5-coder:7b, llama3"
    ):
        eng.load("gpt-4")
    assert eng.load("llama3").extra["id"] == "llama3:latest"  # Ollama's implied tag
    with pytest.raises(ModelLoadError, match="serves several; name one"):
        eng.load("")
    server.cfg.models = ["/models/Qwen2.5-Coder-7B-Instruct-4bit"]  # mlx_lm.server lists absolute paths
    assert eng.load("Qwen2.5-Coder-7B-Instruct-4bit").extra["id"] == server.cfg.models[0]
    assert eng.load("").name == server.cfg.models[0]


def test_load_without_a_model_list_does_not_check(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    server.cfg.models_body = b""  # what mlx_lm.server sends when its HF cache folder is missing
    with caplog.at_level(logging.WARNING, logger="studio.engine.openai"):
        info = OpenAIEngine(server.url).load("anything")
    assert info.extra["id"] == "anything"
    assert "sent no model list" in caplog.text
    with pytest.raises(ModelLoadError, match="lists no models: name the model to use"):
        OpenAIEngine(server.url).load("")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, b'{"error": {"message": "Missing bearer"}}', "needs an API key (HTTP 401): Missing bearer"),
        (403, b"{}", "needs an API key (HTTP 403)"),
        (500, b'{"detail": "database down"}', "the server failed (HTTP 500): database down"),
        (503, b"<html>Service Unavailable</html>", "the server failed (HTTP 503): Service Unavailable"),
    ],
)
def test_load_errors_are_one_line(server: Any, status: int, body: bytes, message: str) -> None:
    server.cfg.models_status, server.cfg.error_body = status, body
    with pytest.raises(ModelLoadError) as err:
        OpenAIEngine(server.url).load("stub-model")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_load_on_a_server_that_is_not_openai_compatible(server: Any) -> None:
    wrong = server.url.removesuffix("/v1") + "/api"
    with pytest.raises(ModelLoadError, match=r"not an OpenAI-compatible API \(HTTP 404 for /models\)"):
        OpenAIEngine(wrong).load("stub-model")


def test_load_a_closed_port_and_an_unknown_host() -> None:
    port = closed_port()
    with pytest.raises(
        ModelLoadError, match=rf"Can't reach the server at http://127.0.0.1:{port}/v1: is it running\?"
    ):
        OpenAIEngine(f"http://127.0.0.1:{port}").load("m")
    with pytest.raises(
        ModelLoadError, match=r"Can't find the host 'no-such-host.invalid' \(DNS lookup failed\)"
    ):
        OpenAIEngine("http://no-such-host.invalid:8080").load("m")


# ---------------------------------------------------------------------- streaming


def test_stream_yields_deltas_counts_and_sends_the_params(engine: OpenAIEngine, server: Any) -> None:
    chunks = list(engine.stream_chat(MSGS, GenerationParams(temperature=0, top_p=0.9, max_tokens=64, seed=3)))
    assert [c.text for c in chunks[:-1]] == server.cfg.pieces
    assert [c.generated_tokens for c in chunks[:-1]] == [1, 2, 3, 4, 5]
    last = chunks[-1]
    assert (last.finish_reason, last.text, last.error) == ("stop", "", None)
    assert (last.prompt_tokens, last.prefilled_tokens, last.generated_tokens) == (11, 8, 5)  # from usage
    assert last.ttft is not None and last.ttft > 0 and all(c.ttft == last.ttft for c in chunks)
    body = server.chat_requests()[-1].body
    assert body == {
        "model": "stub-model",
        "messages": MSGS,
        "stream": True,
        "temperature": 0,
        "top_p": 0.9,
        "max_tokens": 64,
        "stream_options": {"include_usage": True},
        "seed": 3,
    }
    assert "Authorization" not in server.chat_requests()[-1].headers
    run(engine, GenerationParams(repetition_penalty=1.1))
    assert server.chat_requests()[-1].body["repetition_penalty"] == 1.1


@pytest.mark.parametrize(
    ("wire", "piece_size", "keepalive", "multiline"),
    [("lf", 1, False, False), ("crlf", 1, True, False), ("cr", 2, True, True), ("crlf", 7, False, True)],
)
def test_stream_survives_any_framing(
    engine: OpenAIEngine, server: Any, wire: str, piece_size: int, keepalive: bool, multiline: bool
) -> None:
    server.cfg.wire, server.cfg.piece_size = wire, piece_size
    server.cfg.keepalive, server.cfg.multiline = keepalive, multiline
    text, last = run(engine)
    assert text == "Hello, wörld ✓!"
    assert (last.finish_reason, last.generated_tokens) == ("stop", 5)


def test_length_finish_and_counting_without_usage(engine: OpenAIEngine, server: Any) -> None:
    server.cfg.finish, server.cfg.usage = "length", False
    server.cfg.pieces = ["a", "b", "", "c"]  # an empty delta is not a token of text
    text, last = run(engine)
    assert (text, last.finish_reason, last.generated_tokens, last.prompt_tokens) == ("abc", "length", 3, 0)


def test_a_server_that_rejects_stream_options_is_asked_again_without(
    engine: OpenAIEngine, server: Any
) -> None:
    server.cfg.reject_stream_options = True
    text, last = run(engine)
    assert (text, last.finish_reason) == ("Hello, wörld ✓!", "stop")
    sent = [r.body for r in server.chat_requests()]
    assert ["stream_options" in b for b in sent] == [True, False]
    run(engine)  # remembered: no second refusal
    assert len(server.chat_requests()) == 3 and "stream_options" not in server.chat_requests()[-1].body


def test_a_server_that_ignores_stream_true(engine: OpenAIEngine, server: Any) -> None:
    server.cfg.mode = "json"
    text, last = run(engine)
    assert (text, last.finish_reason, last.generated_tokens, last.prompt_tokens) == (
        "Hello, wörld ✓!",
        "stop",
        5,
        11,
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "message"),
    [
        (401, b'{"error": {"message": "invalid token"}}', {}, "needs an API key (HTTP 401): invalid token"),
        (404, b'{"error": {"message": "The model `stub-model` does not exist", "code": "model_not_found"}}', {},
         "does not serve the model 'stub-model' (HTTP 404): The model `stub-model` does not exist"),
        (404, b"Not Found", {}, "is not an OpenAI-compatible API (HTTP 404 for /chat/completions)"),
        (429, b'{"error": {"message": "Rate limit reached"}}', {"Retry-After": "20"},
         "rate-limiting requests (HTTP 429): Rate limit reached; try again in 20 s"),
        (500, b'{"error": {"message": "CUDA out of memory\\nTraceback"}}', {}, "the server failed (HTTP 500): CUDA out of memory"),
        (502, b"<html><body>Bad Gateway</body></html>", {"Content-Type": "text/html"}, "the server failed (HTTP 502): Bad Gateway"),
        (400, b'{"error": "max_tokens must be positive"}', {}, "rejected the request (HTTP 400): max_tokens must be positive"),
    ],
)  # fmt: skip
def test_http_errors_end_the_stream_with_one_line(
    engine: OpenAIEngine, server: Any, status: int, body: bytes, headers: dict[str, str], message: str
) -> None:
    server.cfg.mode, server.cfg.status, server.cfg.error_body = "status", status, body
    server.cfg.extra_headers = headers
    text, last = run(engine)
    assert (text, last.finish_reason) == ("", "error")
    assert last.error is not None and message in last.error and "\n" not in last.error


@pytest.mark.parametrize(
    ("mode", "text", "message"),
    [
        ("stall", "Hello, ", "the server stopped sending (nothing for 1 s)"),
        ("silent", "", "did not answer within 1 s"),
        ("drop", "Hello, ", "the server closed the connection mid-answer"),
        ("malformed", "", "the server sent malformed JSON in the stream: '{not json'"),
        ("error", "Hello", "the server failed mid-answer: model crashed"),
        ("html", "", "is not an OpenAI-compatible API: it answered with text/html"),
    ],
)
def test_broken_streams_end_with_an_error_chunk(
    engine: OpenAIEngine, server: Any, mode: str, text: str, message: str
) -> None:
    server.cfg.mode = mode
    t0 = time.perf_counter()
    got, last = run(engine)
    assert time.perf_counter() - t0 < 10  # the 1 s stall timeout fired, not a hang (room for a loaded box)
    assert (got, last.finish_reason) == (text, "error")
    assert last.error is not None and message in last.error and "\n" not in last.error
    assert last.generated_tokens == len(text and server.cfg.pieces[: 2 if mode != "error" else 1])


def test_a_stream_that_ends_cleanly_but_early(engine: OpenAIEngine, server: Any) -> None:
    # HTTP/1.0 framing (the server closes to end the body): EOF without finish_reason or [DONE].
    server.cfg.mode = "eof"
    text, last = run(engine)
    assert (text, last.finish_reason, last.generated_tokens) == ("Hello, ", "error", 2)
    assert last.error == "the server closed the stream before the answer was finished"


def test_a_server_gone_after_load(engine: OpenAIEngine, server: Any) -> None:
    server.kill()  # also the connection load() left open for the next request
    text, last = run(engine)
    assert (text, last.finish_reason) == ("", "error")
    assert last.error == f"Can't reach the server at {server.url}: is it running?"


def test_stream_before_load_is_an_error_chunk(server: Any) -> None:
    _, last = run(OpenAIEngine(server.url))
    assert (last.finish_reason, last.error) == ("error", "no model is loaded")
    assert server.requests == []


# ---------------------------------------------------------------------- cancel


def _cancel_after(n: int, stream: Iterator[Chunk], cancel: Callable[[], None]) -> tuple[list[Chunk], float]:
    chunks: list[Chunk] = []
    t_cancel = 0.0
    for chunk in stream:
        chunks.append(chunk)
        if len(chunks) == n:
            t_cancel = time.perf_counter()
            threading.Thread(target=cancel).start()
    return chunks, time.perf_counter() - t_cancel


@pytest.mark.parametrize("how", ["token", "engine"])
def test_cancel_from_another_thread_closes_the_socket(engine: OpenAIEngine, server: Any, how: str) -> None:
    server.cfg.mode, server.cfg.interval = "slow", 5.0  # the reader is blocked in recv when cancel comes
    server.cfg.pieces = ["a", "b", "c"]
    token = CancelToken()
    stream = engine.stream_chat(MSGS, cancel=token)
    chunks, waited = _cancel_after(3, stream, token.cancel if how == "token" else engine.cancel)
    assert waited < server.cfg.interval  # the blocked read ended at the cancel, not at the next piece
    assert chunks[-1].finish_reason == "cancelled" and chunks[-1].generated_tokens == 3
    assert token.cancelled
    assert server.disconnected.wait(2), "the server never saw the client leave"


def test_closing_the_generator_early_cancels(engine: OpenAIEngine, server: Any) -> None:
    server.cfg.mode, server.cfg.interval = "slow", 0.05
    stream = engine.stream_chat(MSGS)
    assert next(stream).text == "Hello"
    stream.close()
    assert server.disconnected.wait(2)
    server.cfg.mode = "ok"
    assert run(engine)[1].finish_reason == "stop"  # the engine serves the next answer


def test_cancel_while_the_server_has_not_answered_yet(engine: OpenAIEngine, server: Any) -> None:
    server.cfg.mode = "silent"  # e.g. a long prompt being prefilled
    token = CancelToken()
    timer = threading.Timer(0.2, token.cancel)
    timer.start()
    last = collect(engine.stream_chat(MSGS, cancel=token)).last
    # The server never answers: only the cancel can end this stream as "cancelled" (a stall is "error").
    assert last.finish_reason == "cancelled" and last.ttft is None
    assert server.disconnected.wait(2)


def test_a_token_cancelled_before_the_request_sends_nothing(engine: OpenAIEngine, server: Any) -> None:
    token = CancelToken()
    token.cancel()
    last = collect(engine.stream_chat(MSGS, cancel=token)).last
    assert last.finish_reason == "cancelled"
    assert server.chat_requests() == []


# ---------------------------------------------------------------------- API keys


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        yield backend


def test_the_key_comes_from_the_argument_then_keyring_then_environment(
    server: Any, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.store.secrets import set_api_key

    server.cfg.api_key = KEY
    monkeypatch.delenv("STUDIO_API_KEY", raising=False)
    with pytest.raises(ModelLoadError, match="needs an API key"):
        OpenAIEngine(server.url).load("stub-model")
    monkeypatch.setenv("STUDIO_API_KEY", KEY)
    monkeypatch.delenv("STUDIO_API_KEY_URL", raising=False)
    monkeypatch.delenv("STUDIO_BASE_URL", raising=False)
    with pytest.raises(ModelLoadError, match="needs an API key"):  # the key belongs to no server
        OpenAIEngine(server.url).load("stub-model")
    monkeypatch.setenv("STUDIO_API_KEY_URL", "http://elsewhere.example:8080/v1")
    with pytest.raises(ModelLoadError, match="needs an API key"):  # ... or to another one
        OpenAIEngine(server.url).load("stub-model")
    assert all("Authorization" not in r.headers for r in server.requests), "the key went to the wrong server"
    monkeypatch.setenv("STUDIO_API_KEY_URL", server.url)
    assert OpenAIEngine(server.url).load("stub-model").extra["api_key"] == "environment"
    monkeypatch.setenv("STUDIO_API_KEY", "wrong")
    set_api_key(server.url.removesuffix("/v1"), KEY)
    eng = OpenAIEngine(server.url)
    assert eng.load("stub-model").extra["api_key"] == "keyring"
    _, last = run(eng)
    assert last.finish_reason == "stop"
    assert server.chat_requests()[-1].headers["Authorization"] == f"Bearer {KEY}"
    assert OpenAIEngine(server.url, api_key=KEY).load("stub-model").extra["api_key"] == "argument"


def test_a_wrong_key_is_refused_and_never_shown_or_logged(
    server: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    wrong = "sk-wrong-0123456789abcdef"
    server.cfg.api_key = KEY
    eng = OpenAIEngine(server.url, api_key=wrong)
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelLoadError) as err:
        eng.load("stub-model")
    assert "the server refused the API key (HTTP 401): Incorrect API key provided" in str(err.value)
    # A server that echoes the key back in its error: the message shows *** instead.
    server.cfg.api_key = None
    eng = OpenAIEngine(server.url, api_key=wrong)
    with caplog.at_level(logging.DEBUG):
        eng.load("stub-model")
        server.cfg.mode, server.cfg.status = "status", 403
        server.cfg.error_body = b'{"error": {"message": "key sk-wrong-0123456789abcdef is disabled"}}'
        _, last = run(eng)
    assert (
        last.error
        == "the server refused the API key (HTTP 403): key *** is disabled; check the key stored for "
        + server.url
    )
    server.cfg.mode, server.cfg.stream_error = "error", f"token {wrong} revoked"
    _, last = run(eng)
    assert last.error == "the server failed mid-answer: token *** revoked"
    assert wrong not in caplog.text and KEY not in caplog.text


# ---------------------------------------------------------------------- https


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "cert.pem", folder / "key.pem"


def test_https_verifies_the_certificate(
    server: Any, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certificate)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    url = server.url.replace("http://", "https://")
    with pytest.raises(ModelLoadError, match="The certificate of https://127.0.0.1:.* cannot be verified"):
        OpenAIEngine(url).load("stub-model")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust it, as a company CA would be
    eng = OpenAIEngine(url)
    eng.load("stub-model")
    text, last = run(eng)
    assert (text, last.finish_reason) == ("Hello, wörld ✓!", "stop")


# ---------------------------------------------------------------------- command line


def test_cli_generate_reports_an_unreachable_server_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from studio.cli import main
    from studio.cli.common import EXIT_BAD_INPUT

    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    argv = ["generate", "--engine", "openai", "--base-url", url, "--model", "m", "--prompt", "hi", "--json"]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"Can't reach the server at {url}: is it running?")
    assert len(err.splitlines()) == 1


def test_cli_eval_talks_to_the_base_url_it_is_given(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """eval passes --base-url (and --device) on to the engine like generate does (it used to drop them)."""
    from studio.cli import main
    from studio.cli.common import EXIT_BAD_INPUT

    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    argv = ["eval", "--engine", "openai", "--base-url", url, "--model", "m", "--limit", "1", "--json"]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"Can't reach the server at {url}: is it running?")


def test_cli_generate_streams_from_the_stub(
    server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from studio.cli import main

    monkeypatch.chdir(tmp_path)
    server.cfg.pieces = ["```html\n", "<p>hi</p>\n", "```\n"]
    argv = ["generate", "--engine", "openai", "--base-url", server.url, "--model", "stub-model"]
    assert main([*argv, "--prompt", "a page", "--max-tokens", "16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["text"] == "".join(server.cfg.pieces)
    assert result["artifact"]["kind"] == "html" and (tmp_path / result["artifact"]["output"]).exists()
    assert server.chat_requests()[-1].body["max_tokens"] == 16


def test_the_registry_builds_the_engine_with_its_options(server: Any) -> None:
    from studio.models.registry import create_engine

    eng = create_engine("openai", "stub-model", base_url=server.url.removesuffix("/v1"), device="cuda:1")
    assert isinstance(eng, OpenAIEngine)
    assert (eng.base_url, eng.stall_timeout) == (server.url, 60.0)
    assert eng.load("stub-model").engine == "openai"
