"""The OpenAI engine's HTTP on the wire: hostile framing, dropped connections, cancel, keep-alive,
redirects, proxies from the environment and query strings.

The hostile server here writes raw bytes on a socket (TCP_NODELAY, one ``sendall`` per piece), so
a UTF-8 character, a CRLF pair or a ``data:`` line can be cut anywhere; the scripted OpenAI server
(tests/fixtures/openai_stub.py) covers the rest.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai_stub as stub_mod
import pytest
from forward_proxy import forward_proxy

from studio.engine.base import CancelToken, ChatMessage, ModelLoadError, collect
from studio.engine.openai import OpenAIEngine

MSGS: list[ChatMessage] = [{"role": "user", "content": "hi"}]
KEY = "sk-wire-0a1b2c3d4e5f"
MODELS = json.dumps({"object": "list", "data": [{"id": "raw-model"}]}).encode()


def delta(text: str | None, finish: str | None = None) -> str:
    d = {} if text is None else {"content": text}
    return json.dumps({"choices": [{"index": 0, "delta": d, "finish_reason": finish}]}, ensure_ascii=False)


# ---------------------------------------------------------------------- a raw-socket server


@dataclass
class Conn:
    """One accepted connection: the socket and the request lines read on it."""

    sock: socket.socket
    requests: list[str] = field(default_factory=list)
    closed_by_client: threading.Event = field(default_factory=threading.Event)


Script = Callable[[Conn, int], None]  # answers the chat request number n (0-based) on a connection


class RawServer:
    """Answers ``GET /v1/models`` itself (kept alive) and hands each chat request to ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.conns: list[Conn] = []
        self.chats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"

    def _accept(self) -> None:
        self.listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Conn(sock)
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Conn) -> None:
        buf = b""
        with contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.sock.recv(65536)
                    if not data:
                        conn.closed_by_client.set()
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    (
                        int(v)
                        for k, _, v in (h.partition(": ") for h in lines[1:])
                        if k.lower() == "content-length"
                    ),
                    0,
                )
                while len(buf) < length:
                    buf += conn.sock.recv(65536)
                buf = buf[length:]
                conn.requests.append(lines[0])
                if lines[0].startswith("GET /v1/models"):
                    conn.sock.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(MODELS), MODELS)
                    )
                    continue
                n, self.chats = self.chats, self.chats + 1
                self.script(conn, n)

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(5)
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.sock.close()


@contextlib.contextmanager
def raw_server(script: Script) -> Iterator[RawServer]:
    server = RawServer(script)
    try:
        yield server
    finally:
        server.close()


def wait_for_close(conn: Conn, timeout: float = 30) -> None:
    """Block until the client closes ``conn`` (a read returns EOF); the server's half of a hold."""
    conn.sock.settimeout(timeout)
    with contextlib.suppress(OSError):
        if not conn.sock.recv(1):
            conn.closed_by_client.set()


def engine_for(server: Any, **kw: Any) -> OpenAIEngine:
    eng = OpenAIEngine(server.url, **{"connect_timeout": 5, "stall_timeout": 30, **kw})
    eng.load("")
    return eng


@pytest.fixture(autouse=True)
def _no_proxy_or_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "STUDIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# ---------------------------------------------------------------------- hostile framing


def test_hostile_chunking_gives_the_exact_text() -> None:
    text = "Grüße €→🙂 ok"
    events = (
        ": keep-alive\r\n\r\n"  # a comment
        + f"data:{delta('Grü')}\r\n\r\n"  # no space after the colon
        + ": keep-alive\r\n"
        + "data: "
        + delta("ße €→").replace(',"delta"', ',\r\ndata: "delta"')
        + "\r\n\r\n"  # two data lines
        + f"data: {delta('🙂 ok')}\r\n\r\n"
        + f"data: {delta(None, 'stop')}\r\n\r\n"
        + "data: [DONE]\r\n\r\n"
    ).encode()
    # Cut inside every multibyte character and between each CR and its LF.
    cuts = sorted({i for i, b in enumerate(events) if 0x80 <= b < 0xC0 or b == 0x0A})

    def script(conn: Conn, n: int) -> None:
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        start = 0
        for cut in [*cuts, len(events)]:
            conn.sock.sendall(events[start:cut])
            start = cut
        conn.sock.shutdown(socket.SHUT_WR)

    with raw_server(script) as server:
        eng = engine_for(server)
        done = collect(eng.stream_chat(MSGS))
        eng.close()
    assert (done.text, done.last.finish_reason, done.last.error) == (text, "stop", None)
    assert done.last.generated_tokens == 3


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_a_connection_dropped_mid_stream_keeps_the_text_and_says_so(how: str) -> None:
    def script(conn: Conn, n: int) -> None:
        conn.sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for piece in ("Hel", "lo"):
            event = f"data: {delta(piece)}\n\n".encode()
            conn.sock.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        if how == "rst":  # close with a reset instead of a FIN
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.sock.close()

    with raw_server(script) as server:
        eng = engine_for(server)
        done = collect(eng.stream_chat(MSGS))
        eng.close()
    assert (done.text, done.last.finish_reason, done.last.generated_tokens) == ("Hello", "error", 2)
    assert done.last.error is not None and "\n" not in done.last.error
    assert done.last.error.startswith("the server closed the connection mid-answer")


# ---------------------------------------------------------------------- cancel and keep-alive


def test_cancel_before_the_answer_on_a_kept_alive_connection_closes_it_at_once() -> None:
    answer = (f"data: {delta('one')}\n\ndata: {delta(None, 'stop')}\n\ndata: [DONE]\n\n").encode()

    def script(conn: Conn, n: int) -> None:
        if n == 0:
            conn.sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s"
                % (len(answer), answer)
            )
            return
        wait_for_close(conn)  # a long prefill: no headers until the client leaves

    with raw_server(script) as server:
        eng = engine_for(server)
        assert collect(eng.stream_chat(MSGS)).text == "one"
        token = CancelToken()
        stream = eng.stream_chat(MSGS, cancel=token)
        timer = threading.Timer(0.3, token.cancel)
        timer.start()
        t0 = time.perf_counter()
        last = collect(stream).last
        waited = time.perf_counter() - t0
        timer.join()
        assert last.finish_reason == "cancelled" and last.error is None
        assert waited < 10  # the stall timeout is 30 s: only the cancel ended it
        (conn,) = server.conns  # the models list and both turns went over one connection
        assert conn.requests == ["GET /v1/models HTTP/1.1", *["POST /v1/chat/completions HTTP/1.1"] * 2]
        assert conn.closed_by_client.wait(5), "the server never saw the client leave"
        eng.close()


def test_two_turns_use_one_kept_alive_connection() -> None:
    with stub_mod.stub_server() as server:
        server.cfg.keep_alive = True
        eng = engine_for(server)
        for _ in range(2):
            assert collect(eng.stream_chat(MSGS)).last.finish_reason == "stop"
        assert len(server.chat_requests()) == 2
        assert len(server.connections) == 1  # /models and two streams, one TCP connection
        eng.close()


# ---------------------------------------------------------------------- redirects


def test_no_redirect_is_followed_while_a_key_is_sent() -> None:
    with stub_mod.stub_server() as target, stub_mod.stub_server() as hostile:
        hostile.cfg.api_key = KEY
        hostile.cfg.extra_headers = {"Location": target.url + "/models"}
        hostile.cfg.models_status = 302
        with pytest.raises(ModelLoadError) as err:
            OpenAIEngine(hostile.url, api_key=KEY).load("stub-model")
        message = str(err.value)
        assert "redirects to" in message and "not followed" in message and "\n" not in message
        hostile.cfg.models_status = 200
        eng = OpenAIEngine(hostile.url, api_key=KEY)
        eng.load("stub-model")
        hostile.cfg.mode, hostile.cfg.status = "status", 307
        hostile.cfg.extra_headers = {"Location": target.url + "/chat/completions"}
        done = collect(eng.stream_chat(MSGS))
        assert done.last.finish_reason == "error" and "not followed" in (done.last.error or "")
        assert KEY not in (done.last.error or "")
        eng.close()
        assert hostile.requests[-1].headers.get("Authorization") == f"Bearer {KEY}"
        assert target.requests == []  # neither request (nor the key) went on


# ---------------------------------------------------------------------- proxies


def test_proxies_from_the_environment_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with forward_proxy() as proxy, stub_mod.stub_server() as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        eng = engine_for(server)
        done = collect(eng.stream_chat(MSGS))
        eng.close()
        assert (done.text, done.last.finish_reason) == ("Hello, wörld ✓!", "stop")
        assert proxy.seen == [f"GET {server.url}/models", f"POST {server.url}/chat/completions"]
        assert [r.path for r in server.requests] == ["/v1/models", "/v1/chat/completions"]


def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with forward_proxy() as proxy, stub_mod.stub_server() as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        eng = engine_for(server)
        assert collect(eng.stream_chat(MSGS)).last.finish_reason == "stop"
        eng.close()
        assert proxy.seen == []
        assert len(server.requests) == 2


# ---------------------------------------------------------------------- query strings


def test_the_base_urls_query_string_is_kept_on_every_request() -> None:
    with stub_mod.stub_server() as server:
        eng = OpenAIEngine(server.url + "?api-version=2024-10-21", connect_timeout=5, stall_timeout=30)
        assert eng.base_url == server.url  # the name the key is stored under has no query
        eng.load("stub-model")
        assert collect(eng.stream_chat(MSGS)).last.finish_reason == "stop"
        eng.close()
        assert [r.path for r in server.requests] == [
            "/v1/models?api-version=2024-10-21",
            "/v1/chat/completions?api-version=2024-10-21",
        ]


def test_closing_the_engine_mid_answer_ends_the_stream_as_cancelled() -> None:
    with stub_mod.stub_server() as server:
        server.cfg.mode, server.cfg.interval = "slow", 5.0  # the reader waits on the socket
        eng = engine_for(server)
        stream = eng.stream_chat(MSGS)
        assert next(stream).text == "Hello"
        closer = threading.Thread(target=eng.close)
        closer.start()
        rest = list(stream)  # ends at once, not at the next piece
        closer.join(5)
        assert rest[-1].finish_reason == "cancelled"
        assert server.disconnected.wait(5)
        server.cfg.mode = "ok"
        eng.load("stub-model")  # a closed engine can be loaded and used again
        assert collect(eng.stream_chat(MSGS)).last.finish_reason == "stop"
        eng.close()


# ---------------------------------------------------------------------- one-line failures below HTTP


def test_https_to_a_plain_http_server_is_one_line() -> None:
    with stub_mod.stub_server() as server:
        url = server.url.replace("http://", "https://")
        with pytest.raises(ModelLoadError) as err:
            OpenAIEngine(url, connect_timeout=5).load("stub-model")
    message = str(err.value)
    assert message.startswith(f"The secure (https) connection to {url} failed: ") and "\n" not in message


def test_a_connect_timeout_is_one_line() -> None:
    import httpx2

    from studio.engine.openai_http import net_error

    message = net_error(httpx2.ConnectTimeout("timed out"), "http://10.0.0.9:8080/v1", "10.0.0.9", 5)
    assert message == "The server at http://10.0.0.9:8080/v1 did not answer within 5 s"
