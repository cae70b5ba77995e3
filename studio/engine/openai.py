"""The engine for any OpenAI-compatible server: mlx_lm.server, llama.cpp server, vLLM, Ollama, LM Studio.

``load`` asks the server which models it serves (``GET {base}/models``); ``stream_chat`` POSTs
``{base}/chat/completions`` with ``stream: true`` and turns the Server-Sent Events into
:class:`~studio.engine.base.Chunk` records on the caller's thread. Cancel (the token, or
:meth:`OpenAIEngine.cancel` from any thread) shuts the socket down at once, so the server sees the
client go and stops generating. Every failure ends the stream with one ``"error"`` chunk whose
message says what to do; nothing raises out of ``stream_chat``.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Generator, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

from studio import __version__
from studio.engine.base import (
    CancelToken,
    ChatMessage,
    Chunk,
    GenerationParams,
    ModelInfo,
    ModelLoadError,
)
from studio.engine.openai_http import HTTPFailure, error_message, model_entries, net_error, pick_model
from studio.engine.sse import ChatStream, SSEError, SSEParser, finish_reason
from studio.store.secrets import insecure_key_warning, normalize_base_url, resolve_api_key

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"  # mlx_lm.server's and llama.cpp server's default port
ENV_BASE_URL = "STUDIO_BASE_URL"
_MAX_BODY = 4 * 1024 * 1024  # the most bytes read from a non-streamed answer


class OpenAIEngine:
    """The :class:`~studio.engine.base.Engine` for an OpenAI-compatible HTTP server.

    Args:
        base_url: the API root, with or without ``/v1`` (default: ``$STUDIO_BASE_URL``, else
            http://127.0.0.1:8080/v1).
        api_key: sent as a Bearer token; default: the system keyring's key for ``base_url``, else
            ``$STUDIO_API_KEY`` when ``base_url`` is its server (``$STUDIO_API_KEY_URL``, else
            ``$STUDIO_BASE_URL``), else no Authorization header. Only ever sent to ``base_url``.
        connect_timeout: seconds to wait for the TCP (and TLS) connection.
        stall_timeout: seconds without a byte from the server before the answer is given up.

    Raises:
        EngineError: ``base_url`` is not an http(s) address.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        connect_timeout: float = 5.0,
        stall_timeout: float = 60.0,
    ) -> None:
        self.base_url = normalize_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self._explicit_key = api_key
        self._key: str | None = None
        self._key_source = "none"
        self._info: ModelInfo | None = None
        self._model_id = ""
        self._usage_ok = True  # send stream_options.include_usage until the server rejects it
        self._lock = threading.Lock()
        self._active: dict[CancelToken, http.client.HTTPConnection | None] = {}
        parts = urlsplit(self.base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path

    # ------------------------------------------------------------------ protocol

    @property
    def model(self) -> ModelInfo | None:
        return self._info

    def load(self, model: str) -> ModelInfo:
        """Check that the server answers and serves ``model`` (empty: the only model it serves).

        Raises:
            ModelLoadError: the server cannot be reached, refuses the key, or does not serve ``model``.
        """
        self._key, self._key_source = resolve_api_key(self.base_url, self._explicit_key)
        if self._key and (warning := insecure_key_warning(self.base_url)):
            log.warning("%s", warning)
        try:
            status, headers, body = self._fetch("GET", "/models")
        except HTTPFailure as exc:
            raise ModelLoadError(str(exc)) from None
        if status != 200:
            raise ModelLoadError(self._status_message(status, headers, body, "/models", model))
        entries = model_entries(body)
        if entries is None:  # e.g. mlx_lm.server answers 200 with an empty body when its HF cache is missing
            log.warning("%s/models sent no model list; %r is not checked", self.base_url, model)
            entries = []
        ids = [e["id"] for e in entries]
        chosen = pick_model(model, ids)
        if chosen is None and not ids:
            raise ModelLoadError(f"the server at {self.base_url} lists no models: name the model to use")
        if chosen is None:
            served = ", ".join(ids[:8]) + (", ..." if len(ids) > 8 else "")
            what = f"model {model!r}" if model else "a model (it serves several; name one)"
            raise ModelLoadError(f"the server at {self.base_url} does not serve {what}; it serves: {served}")
        entry = next((e for e in entries if e["id"] == chosen), {})
        ctx = next(
            (entry[k] for k in ("max_model_len", "context_length") if isinstance(entry.get(k), int)), None
        )
        self._model_id = chosen
        self._info = ModelInfo(
            name=model or chosen,
            path=self.base_url,
            engine=self.name,
            context_length=ctx,
            extra={"id": chosen, "served": ids[:50], "api_key": self._key_source},
        )
        log.info("using %s at %s (key: %s)", chosen, self.base_url, self._key_source)
        return self._info

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams | None = None,
        cancel: CancelToken | None = None,
    ) -> Generator[Chunk]:
        """Stream one answer; the request is sent when the generator is first advanced.

        Closing the generator before its last chunk cancels the answer (the socket is closed).
        """
        return self._stream(list(messages), params or GenerationParams(), cancel or CancelToken())

    def cancel(self) -> None:
        """Cancel every answer in progress: their sockets are shut down at once."""
        with self._lock:
            active = list(self._active.items())
        for token, conn in active:
            token.cancel()
            _shutdown(conn)

    def close(self) -> None:
        """Cancel what runs and forget the model (the engine holds no other resource)."""
        self.cancel()
        self._info = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ HTTP

    def _connect(self) -> http.client.HTTPConnection:
        """An open connection whose socket times out after ``stall_timeout`` (raises HTTPFailure)."""
        conn: http.client.HTTPConnection
        if self._https:
            ctx = ssl.create_default_context()
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.connect_timeout, context=ctx
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            raise HTTPFailure(net_error(exc, self.base_url, self._host, self.connect_timeout)) from None
        assert conn.sock is not None
        conn.sock.settimeout(self.stall_timeout)
        return conn

    def _headers(self, stream: bool) -> dict[str, str]:
        headers = {"User-Agent": f"artifacts-studio/{__version__}", "Accept": "application/json"}
        if stream:
            headers["Accept"] = "text/event-stream"
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _send(
        self, conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None
    ) -> http.client.HTTPResponse:
        try:
            conn.request(method, self._path + path, body=body, headers=self._headers(body is not None))
            return conn.getresponse()
        except TimeoutError:
            raise HTTPFailure(
                f"the server at {self.base_url} did not answer within {self.stall_timeout:g} s"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise HTTPFailure(net_error(exc, self.base_url, self._host, self.connect_timeout)) from None

    def _fetch(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any, bytes]:
        """A whole (non-streamed) request: (status, headers, body)."""
        conn = self._connect()
        try:
            resp = self._send(conn, method, path, body)
            if resp.status != 200:
                return resp.status, resp.headers, _read_some(resp)
            try:
                data = resp.read(_MAX_BODY)
            except TimeoutError:
                raise HTTPFailure(self._stalled()) from None
            except (OSError, http.client.HTTPException) as exc:
                raise HTTPFailure(net_error(exc, self.base_url, self._host, self.connect_timeout)) from None
            return resp.status, resp.headers, data
        finally:
            conn.close()

    def _stalled(self) -> str:
        return f"the server stopped sending (nothing for {self.stall_timeout:g} s)"

    def _status_message(self, status: int, headers: Any, body: bytes, path: str, model: str) -> str:
        msg = error_message(status, headers, body, self.base_url, path, model, self._key_source != "none")
        return msg.replace(self._key, "***") if self._key else msg  # never show the key

    # ------------------------------------------------------------------ streaming

    def _request_body(self, messages: list[ChatMessage], params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model_id,
            "messages": messages,
            "stream": True,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if self._usage_ok:
            body["stream_options"] = {"include_usage": True}
        if params.seed is not None:
            body["seed"] = params.seed
        if params.repetition_penalty is not None:
            body["repetition_penalty"] = params.repetition_penalty
        return body

    def _stream(
        self, messages: list[ChatMessage], params: GenerationParams, token: CancelToken
    ) -> Generator[Chunk]:
        if self._info is None:
            yield Chunk(finish_reason="error", error="no model is loaded")
            return
        t0 = time.perf_counter()
        with self._lock:
            self._active[token] = None
        done = threading.Event()
        threading.Thread(
            target=self._watch, args=(token, done), name="studio-openai-cancel", daemon=True
        ).start()
        state = ChatStream(t0)
        try:
            for chunk in self._exchange(messages, params, token, state):
                if chunk.error and self._key and self._key in chunk.error:  # a server that echoes the key
                    chunk = dataclasses.replace(chunk, error=chunk.error.replace(self._key, "***"))
                yield chunk
        finally:
            done.set()
            with self._lock:
                conn = self._active.pop(token, None)
            if not state.finished:  # the consumer closed the generator early
                token.cancel()
            if conn is not None:
                conn.close()

    def _watch(self, token: CancelToken, done: threading.Event) -> None:
        # A token cancelled by its owner: shut the socket so a blocked read returns at once.
        while not done.wait(0.02):
            if token.cancelled:
                with self._lock:
                    conn = self._active.get(token)
                _shutdown(conn)
                return

    def _exchange(
        self, messages: list[ChatMessage], params: GenerationParams, token: CancelToken, st: ChatStream
    ) -> Generator[Chunk]:
        for attempt in range(2):
            try:
                conn = self._connect()
            except HTTPFailure as exc:
                yield st.end("error", str(exc))
                return
            with self._lock:
                self._active[token] = conn
            if token.cancelled:
                yield st.end("cancelled")
                return
            body = json.dumps(self._request_body(messages, params)).encode()
            try:
                resp = self._send(conn, "POST", "/chat/completions", body)
            except HTTPFailure as exc:
                yield st.end("cancelled") if token.cancelled else st.end("error", str(exc))
                return
            if resp.status == 200:
                break
            data = _read_some(resp)
            if attempt == 0 and resp.status in (400, 422) and self._usage_ok and b"stream_options" in data:
                log.info("%s rejects stream_options; counting tokens from the stream", self.base_url)
                self._usage_ok = False
                conn.close()
                continue
            yield st.end(
                "error",
                self._status_message(resp.status, resp.headers, data, "/chat/completions", self._model_id),
            )
            return
        ctype = (resp.getheader("Content-Type") or "").lower()
        if ctype.startswith("application/json"):  # a server that ignores stream=true
            yield from self._whole_answer(resp, st)
            return
        if ctype and not ctype.startswith("text/event-stream"):
            yield st.end(
                "error",
                f"{self.base_url} is not an OpenAI-compatible API: it answered with {ctype.split(';')[0]}",
            )
            return
        yield from self._events(resp, token, st)

    def _events(self, resp: http.client.HTTPResponse, token: CancelToken, st: ChatStream) -> Generator[Chunk]:
        parser = SSEParser()
        while True:
            try:
                piece = resp.read1(65536)
            except TimeoutError:
                piece, lost = b"", self._stalled()
            except (OSError, http.client.HTTPException) as exc:
                piece, lost = b"", f"the server closed the connection mid-answer ({type(exc).__name__})"
            else:
                lost = ""
            if token.cancelled:
                yield st.end("cancelled")
                return
            try:
                events = parser.feed(piece) if piece else parser.close()
            except SSEError as exc:
                yield st.end("error", f"the server sent a malformed event stream: {exc}")
                return
            for ev in events:
                if ev.data.strip() == "[DONE]":
                    yield st.end(st.finish or "stop")
                    return
                chunk = st.event(ev.data)
                if chunk is not None:
                    yield chunk
                    if chunk.finish_reason is not None:
                        return
            if not piece:
                if st.finish is not None:  # the answer was complete; only [DONE] is missing
                    yield st.end(st.finish)
                elif lost:
                    yield st.end("error", lost)
                else:
                    yield st.end("error", "the server closed the stream before the answer was finished")
                return

    def _whole_answer(self, resp: http.client.HTTPResponse, st: ChatStream) -> Generator[Chunk]:
        data = _read_some(resp, _MAX_BODY)
        try:
            obj = json.loads(data)
            choice = obj["choices"][0]
            text = (choice.get("message") or {}).get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            yield st.end("error", "the server sent an answer that is not an OpenAI chat completion")
            return
        st.usage(obj.get("usage"))
        if text:
            yield st.text(text)
        yield st.end(finish_reason(choice.get("finish_reason")))


def _shutdown(conn: http.client.HTTPConnection | None) -> None:
    sock = conn.sock if conn is not None else None
    if sock is None:
        return
    try:  # the plain socket's shutdown, also for TLS: a blocked read wakes with EOF
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _read_some(resp: http.client.HTTPResponse, limit: int = 65536) -> bytes:
    try:
        return resp.read(limit)
    except (OSError, http.client.HTTPException):
        return b""


__all__ = ["DEFAULT_BASE_URL", "ENV_BASE_URL", "OpenAIEngine"]
