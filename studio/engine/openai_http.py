"""HTTP helpers for the OpenAI-compatible engine: failure messages and the ``/models`` answer.

:class:`HTTPFailure` and :func:`net_error` describe a request that got no HTTP answer;
:func:`error_message` turns an HTTP error answer into one line that says what to do;
:func:`model_entries` and :func:`pick_model` read a ``/models`` answer and choose the served id.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
from typing import Any


class HTTPFailure(Exception):
    """A request that got no HTTP answer; the message is the one-line reason."""


def net_error(exc: BaseException, base_url: str, host: str, connect_timeout: float) -> str:
    """One line for a failure below HTTP: refused, DNS, timeout, TLS, dropped connection."""
    if isinstance(exc, ConnectionRefusedError):
        return f"Can't reach the server at {base_url}: is it running?"
    if isinstance(exc, socket.gaierror):
        return f"Can't find the host {host!r} (DNS lookup failed): check the server address {base_url}"
    if isinstance(exc, TimeoutError):
        return f"The server at {base_url} did not answer within {connect_timeout:g} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"The certificate of {base_url} cannot be verified: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"The secure (https) connection to {base_url} failed: {exc.reason or type(exc).__name__}"
    if isinstance(exc, ConnectionError | http.client.HTTPException):
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
        return f"the server at {base_url} redirects to {where or 'another address'}: use that address"
    if status == 429:
        wait = headers.get("Retry-After") if headers is not None else None
        again = f"; try again in {wait} s" if wait and wait.isdigit() else "; try again later"
        return f"the server is busy or rate-limiting requests (HTTP 429){tail}{again}"
    if status >= 500:
        return f"the server failed (HTTP {status}){tail or ': ' + http.client.responses.get(status, 'error')}"
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


__all__ = ["HTTPFailure", "error_message", "model_entries", "net_error", "pick_model"]
