"""A local HTTP server that counts what reaches it (the sandbox tests prove nothing does)."""

from __future__ import annotations

import contextlib
import http.server
from collections.abc import Iterator

from serving import serving


@contextlib.contextmanager
def counting_server(
    handler: type[http.server.BaseHTTPRequestHandler],
) -> Iterator[http.server.ThreadingHTTPServer]:
    """A threaded HTTP server on 127.0.0.1 whose handler appends each request path to ``server.hits``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.hits = []  # type: ignore[attr-defined]
    with serving(server, "counting-server"):
        yield server
