"""HTTP for the OpenAI-compatible engine: httpx2 on a loop thread, failure messages, the ``/models`` answer.

:class:`LoopClient` keeps one ``httpx2.AsyncClient`` (connections kept alive between turns, proxies
from the environment, no redirects) on an event loop of its own, so a stream can be cancelled at any
moment by cancelling its task: the connection closes at once, even while the server is still prefilling.
:class:`HTTPFailure` and :func:`net_error` describe a request that got no HTTP answer;
:func:`error_message` turns an HTTP error answer into one line that says what to do;
:func:`model_entries` and :func:`pick_model` read a ``/models`` answer and choose the served id.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http
import json
import os
import socket
import ssl
import threading
import weakref
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

import httpx2

from studio import __version__


class HTTPFailure(Exception):
    """A request that got no HTTP answer; the message is the one-line reason."""


class LoopClient:
    """One ``httpx2.AsyncClient`` on its own event-loop thread, started on first use.

    Args:
        connect_timeout: seconds for the TCP (and TLS) connection, and for a free pooled connection.
        stall_timeout: seconds without a byte from the server before a read gives up.
    """

    def __init__(self, connect_timeout: float, stall_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx2.AsyncClient | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def _start(self) -> tuple[asyncio.AbstractEventLoop, httpx2.AsyncClient]:
        with self._lock:
            if self._loop is None or self._client is None:
                loop = asyncio.new_event_loop()
                client = httpx2.AsyncClient(
                    timeout=httpx2.Timeout(
                        self.stall_timeout, connect=self.connect_timeout, pool=self.connect_timeout
                    ),
                    follow_redirects=False,  # a redirect would carry the key elsewhere
                    headers={"User-Agent": f"artifacts-studio/{__version__}"},
                )
                threading.Thread(target=_serve, args=(loop,), name="studio-openai-http", daemon=True).start()
                self._loop, self._client = loop, client
                self._finalizer = weakref.finalize(self, _stop, loop, client)
            return self._loop, self._client

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client (starts the loop thread); use it only in coroutines run by this object."""
        return self._start()[1]

    def submit[T](self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop thread; returns at once."""
        return asyncio.run_coroutine_threadsafe(coro, self._start()[0])

    def call[T](self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop thread and wait for its result (never call it on that thread)."""
        return self.submit(coro).result()

    def close(self) -> None:
        """Close the connections and stop the loop thread (a later request starts them again)."""
        with self._lock:
            finalizer, self._finalizer = self._finalizer, None
            self._loop = self._client = None
        if finalizer is not None:
            finalizer()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


def _stop(loop: asyncio.AbstractEventLoop, client: httpx2.AsyncClient) -> None:
    if loop.is_closed():
        return
    done = asyncio.run_coroutine_threadsafe(_shutdown(client), loop)
    done.add_done_callback(lambda _: loop.call_soon_threadsafe(loop.stop))


async def _shutdown(client: httpx2.AsyncClient) -> None:
    """Cancel the requests still running (each ends its stream), then close the connections."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.aclose()


def url_query(url: str) -> str:
    """The query string of a typed server address (Azure's ``api-version=...``), or ""."""
    text = url.strip()
    try:
        return urlsplit(text if "://" in text else "http://" + text).query
    except ValueError:
        return ""


def _causes(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def net_error(exc: BaseException, base_url: str, host: str, connect_timeout: float) -> str:
    """One line for a failure below HTTP: refused, DNS, timeout, TLS, dropped connection.

    ``exc`` may be an httpx2 error: the OS or TLS error it wraps decides the message.
    """
    if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
        return f"The server at {base_url} did not answer within {connect_timeout:g} s"
    for cause in reversed(_causes(exc)):  # the deepest (most specific) cause first
        if isinstance(cause, ConnectionRefusedError):
            return f"Can't reach the server at {base_url}: is it running?"
        if isinstance(cause, socket.gaierror):
            return f"Can't find the host {host!r} (DNS lookup failed): check the server address {base_url}"
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = cause.verify_message or cause.reason
            return f"The certificate of {base_url} cannot be verified: {why}"
        if isinstance(cause, ssl.SSLError):
            return (
                f"The secure (https) connection to {base_url} failed: {cause.reason or type(cause).__name__}"
            )
        if isinstance(cause, TimeoutError):
            return f"The server at {base_url} did not answer within {connect_timeout:g} s"
    if isinstance(exc, ConnectionError | httpx2.RemoteProtocolError | httpx2.ReadError):
        return f"The server at {base_url} closed the connection without an answer ({type(exc).__name__})"
    return f"Can't reach the server at {base_url}: {str(exc).strip() or type(exc).__name__}"


def _server_text(headers: Any, body: bytes) -> str:
    """The server's own error message from a JSON (or short plain-text) error body, one line."""
    text = ""
    try:
        obj = json.loads(body)
    except ValueError:
        ctype = (headers.get("Content-Type") or "") if headers is not None else ""
        if not ctype.startswith("text/html") and len(body) < 500 and not body.lstrip().startswith(b"<"):
            text = body.decode("utf-8", "replace")
    else:
        if isinstance(obj, dict):
            err = obj.get("error", obj.get("detail", obj.get("message", "")))
            if isinstance(err, dict):
                err = err.get("message", "")
            elif isinstance(err, list) and err and isinstance(err[0], dict):  # FastAPI validation errors
                err = err[0].get("msg", "")
            text = str(err)
    lines = text.strip().splitlines()
    line = lines[0].strip() if lines else ""
    return line if len(line) <= 200 else line[:197] + "..."


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "error"


def error_message(
    status: int, headers: Any, body: bytes, base_url: str, path: str, model: str, sent_key: bool
) -> str:
    """One line for an HTTP error answer, with the server's own message when it sent one."""
    said = _server_text(headers, body)
    tail = f": {said}" if said else ""
    if status in (401, 403):
        if sent_key:
            return (
                f"the server refused the API key (HTTP {status}){tail}; check the key stored for {base_url}"
            )
        return (
            f"the server at {base_url} needs an API key (HTTP {status}){tail}; store one for it in the "
            f"system keyring or set STUDIO_API_KEY (with STUDIO_API_KEY_URL={base_url})"
        )
    if status in (404, 405):
        if path == "/chat/completions" and said and said.lower() not in ("not found", "method not allowed"):
            return f"the server does not serve the model {model!r} (HTTP {status}){tail}"
        return (
            f"{base_url} is not an OpenAI-compatible API (HTTP {status} for {path}); "
            f"check the address (it usually ends in /v1)"
        )
    if status in (301, 302, 303, 307, 308):
        where = headers.get("Location", "") if headers is not None else ""
        return (
            f"the server at {base_url} redirects to {where or 'another address'}: not followed (the key "
            "would go along); use that address"
        )
    if status == 429:
        wait = headers.get("Retry-After") if headers is not None else None
        again = f"; try again in {wait} s" if wait and wait.isdigit() else "; try again later"
        return f"the server is busy or rate-limiting requests (HTTP 429){tail}{again}"
    if status >= 500:
        return f"the server failed (HTTP {status}){tail or ': ' + _phrase(status)}"
    return f"the server rejected the request (HTTP {status}){tail}"


def model_entries(body: bytes) -> list[dict[str, Any]] | None:
    """The ``data`` list of a /models answer (entries with a string id), or None when it is not one."""
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, list):
        data = obj.get("models") if isinstance(obj, dict) else None  # Ollama's native shape
    if not isinstance(data, list):
        return None
    return [e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str)]


def pick_model(model: str, ids: list[str]) -> str | None:
    """The served id ``model`` names: exact, without Ollama's ``:latest``, a resolved local path, or a
    unique last path part (mlx_lm.server lists its model by absolute path). Any name when none are listed.
    """
    if not ids:
        return model or None
    if not model:
        return ids[0] if len(ids) == 1 else None
    if model in ids:
        return model
    for cand in (
        f"{model}:latest",
        model.removesuffix(":latest"),
        os.path.realpath(os.path.expanduser(model)),
    ):
        if cand in ids:
            return cand
    tail = model.rstrip("/").rsplit("/", 1)[-1]
    matches = [i for i in ids if i.rstrip("/").rsplit("/", 1)[-1] == tail]
    return matches[0] if len(matches) == 1 else None


__all__ = [
    "HTTPFailure",
    "LoopClient",
    "error_message",
    "model_entries",
    "net_error",
    "pick_model",
    "url_query",
]
