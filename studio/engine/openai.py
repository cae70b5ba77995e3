"""The engine for any OpenAI-compatible server: mlx_lm.server, llama.cpp server, vLLM, Ollama, LM Studio.

``load`` asks the server which models it serves (``GET {base}/models``); ``stream_chat`` POSTs
``{base}/chat/completions`` with ``stream: true`` and turns the Server-Sent Events into
:class:`~studio.engine.base.Chunk` records on the caller's thread. HTTP is httpx2 (with its own
Server-Sent Events parser) on the engine's event-loop thread (:class:`~studio.engine.openai_http.LoopClient`):
connections are kept alive between turns, proxies come from the environment, redirects are never
followed. Cancel (the token, or :meth:`OpenAIEngine.cancel` from any thread) cancels the request's
task, which closes its connection at once, so the server sees the client go and stops generating. Every failure ends the stream with one ``"error"`` chunk whose
message says what to do; nothing raises out of ``stream_chat``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Generator, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

import httpx2

from studio.engine.base import (
    CancelToken,
    ChatMessage,
    Chunk,
    GenerationParams,
    ModelInfo,
    ModelLoadError,
)
from studio.engine.openai_http import (
    HTTPFailure,
    LoopClient,
    error_message,
    model_entries,
    net_error,
    pick_model,
    url_query,
)
from studio.engine.openai_stream import ChatStream, finish_reason
from studio.store.secrets import insecure_key_warning, normalize_base_url, resolve_api_key

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"  # mlx_lm.server's and llama.cpp server's default port
ENV_BASE_URL = "STUDIO_BASE_URL"
_MAX_BODY = 4 * 1024 * 1024  # the most bytes read from a non-streamed answer
_CANCEL_POLL = 0.02  # seconds between looks at a stream's cancel token
_DRAIN_S = 2.0  # the most seconds spent reading the end of a body after [DONE] (normally none)


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
        typed = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        self.base_url = normalize_base_url(typed)  # also the name the key is stored under
        self._query = url_query(typed)  # kept on every request (Azure's ?api-version=...)
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self._explicit_key = api_key
        self._key: str | None = None
        self._key_source = "none"
        self._info: ModelInfo | None = None
        self._model_id = ""
        self._usage_ok = True  # send stream_options.include_usage until the server rejects it
        self._lock = threading.Lock()
        self._active: set[CancelToken] = set()
        self._host = urlsplit(self.base_url).hostname or ""
        self._http = LoopClient(connect_timeout, stall_timeout)

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
            status, headers, body = self._http.call(self._fetch("/models"))
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
        """Cancel every answer in progress: their connections are closed at once."""
        with self._lock:
            active = list(self._active)
        for token in active:
            token.cancel()

    def close(self) -> None:
        """Cancel what runs, close the kept-alive connections and forget the model."""
        self.cancel()
        self._http.close()
        self._info = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ HTTP

    def _url(self, path: str) -> str:
        return self.base_url + path + (f"?{self._query}" if self._query else "")

    def _headers(self, stream: bool) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _failure(self, exc: httpx2.HTTPError, answered: bool) -> str:
        """One line for a request that failed below HTTP (``answered``: the headers had come)."""
        if isinstance(exc, httpx2.ReadTimeout):
            if answered:
                return self._stalled()
            return f"the server at {self.base_url} did not answer within {self.stall_timeout:g} s"
        return net_error(exc, self.base_url, self._host, self.connect_timeout)

    async def _fetch(self, path: str) -> tuple[int, httpx2.Headers, bytes]:
        """A whole (non-streamed) GET: (status, headers, body); raises HTTPFailure."""
        client = self._http.client
        try:
            async with client.stream("GET", self._url(path), headers=self._headers(False)) as resp:
                return resp.status_code, resp.headers, await _read_some(resp, _MAX_BODY)
        except httpx2.HTTPError as exc:
            raise HTTPFailure(self._failure(exc, answered=False)) from None

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
        st = ChatStream(time.perf_counter())
        out: queue.SimpleQueue[Chunk | None] = queue.SimpleQueue()
        with self._lock:
            self._active.add(token)
        self._http.submit(self._produce(messages, params, token, st, out))
        try:
            while (chunk := out.get()) is not None:
                if chunk.error and self._key and self._key in chunk.error:  # a server that echoes the key
                    chunk = dataclasses.replace(chunk, error=chunk.error.replace(self._key, "***"))
                yield chunk
                if chunk.finish_reason is not None:
                    return
        finally:
            with self._lock:
                self._active.discard(token)
            if not st.finished:  # the consumer closed the generator early
                token.cancel()

    async def _produce(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        token: CancelToken,
        st: ChatStream,
        out: queue.SimpleQueue[Chunk | None],
    ) -> None:
        """Run the exchange (on the loop thread); a cancelled token cancels it, which closes the socket."""
        task = asyncio.ensure_future(self._exchange(messages, params, token, st, out))
        try:
            while not task.done():
                try:
                    await asyncio.wait({task}, timeout=_CANCEL_POLL)
                except asyncio.CancelledError:  # the engine is closing: end this answer as cancelled
                    token.cancel()
                if token.cancelled and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if not st.finished:
                failed = None if task.cancelled() else task.exception()
                if failed is not None:
                    log.warning("the OpenAI stream failed", exc_info=failed)
                    out.put(st.end("error", f"the request failed: {type(failed).__name__}: {failed}"))
                else:
                    out.put(st.end("cancelled"))
        finally:
            out.put(None)

    async def _exchange(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        token: CancelToken,
        st: ChatStream,
        out: queue.SimpleQueue[Chunk | None],
    ) -> None:
        client = self._http.client
        for attempt in range(2):
            if token.cancelled:
                out.put(st.end("cancelled"))
                return
            request = client.build_request(
                "POST",
                self._url("/chat/completions"),
                content=json.dumps(self._request_body(messages, params)).encode(),
                headers={**self._headers(True), "Content-Type": "application/json"},
            )
            try:
                resp = await client.send(request, stream=True)
            except httpx2.HTTPError as exc:
                out.put(
                    st.end("cancelled") if token.cancelled else st.end("error", self._failure(exc, False))
                )
                return
            try:
                if resp.status_code == 200:
                    await self._answer(resp, st, out)
                    return
                data = await _read_some(resp)
            finally:
                await resp.aclose()
            if (
                attempt == 0
                and resp.status_code in (400, 422)
                and self._usage_ok
                and b"stream_options" in data
            ):
                log.info("%s rejects stream_options; counting tokens from the stream", self.base_url)
                self._usage_ok = False
                continue
            out.put(
                st.end(
                    "error",
                    self._status_message(
                        resp.status_code, resp.headers, data, "/chat/completions", self._model_id
                    ),
                )
            )
            return

    async def _answer(
        self, resp: httpx2.Response, st: ChatStream, out: queue.SimpleQueue[Chunk | None]
    ) -> None:
        ctype = resp.headers.get("Content-Type", "").lower()
        if ctype.startswith("application/json"):  # a server that ignores stream=true
            for chunk in self._whole_answer(await _read_some(resp, _MAX_BODY), st):
                out.put(chunk)
            return
        if not ctype.startswith("text/event-stream"):
            what = ctype.split(";")[0] or "no content type"
            out.put(
                st.end("error", f"{self.base_url} is not an OpenAI-compatible API: it answered with {what}")
            )
            return
        events = aiter(httpx2.EventSource(resp))
        lost = ""
        try:
            async for ev in events:
                if ev.data.strip() == "[DONE]":
                    last = st.end(st.finish or "stop")
                    # Read the body's end first: the connection is back in the pool for the next turn.
                    await _drain(events)
                    out.put(last)
                    return
                got = st.event(ev.data)
                if got is not None:
                    out.put(got)
                    if got.finish_reason is not None:
                        return
        except httpx2.SSEError as exc:
            out.put(st.end("error", f"the server sent a malformed event stream: {exc}"))
            return
        except httpx2.ReadTimeout:
            lost = self._stalled()
        except httpx2.HTTPError as exc:
            lost = f"the server closed the connection mid-answer ({type(exc).__name__})"
        if st.finish is not None:  # the answer was complete; only [DONE] is missing
            out.put(st.end(st.finish))
        elif lost:
            out.put(st.end("error", lost))
        else:
            out.put(st.end("error", "the server closed the stream before the answer was finished"))

    def _whole_answer(self, data: bytes, st: ChatStream) -> list[Chunk]:
        try:
            obj = json.loads(data)
            choice = obj["choices"][0]
            text = (choice.get("message") or {}).get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return [st.end("error", "the server sent an answer that is not an OpenAI chat completion")]
        st.usage(obj.get("usage"))
        first = [st.text(text)] if text else []
        return [*first, st.end(finish_reason(choice.get("finish_reason")))]


async def _read_some(resp: httpx2.Response, limit: int = 65536) -> bytes:
    """Up to about ``limit`` bytes of the body; what came before a failure."""
    parts: list[bytes] = []
    size = 0
    try:
        async for part in resp.aiter_bytes():
            parts.append(part)
            size += len(part)
            if size >= limit:
                break
    except httpx2.HTTPError:
        pass
    return b"".join(parts)[:limit]


async def _drain(events: AsyncIterator[object]) -> None:
    """Read what follows [DONE] (normally just the end of the body), for a short while at most."""
    with contextlib.suppress(httpx2.HTTPError, TimeoutError):
        async with asyncio.timeout(_DRAIN_S):
            async for _ in events:
                pass


__all__ = ["DEFAULT_BASE_URL", "ENV_BASE_URL", "OpenAIEngine"]
