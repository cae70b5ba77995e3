"""The ``artifact:`` URL scheme: registration and the handler (an adapter over ArtifactServer)."""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

import shiboken6
from PySide6.QtCore import QBuffer, QByteArray, QObject, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

from studio.core.runtime import CDN_PREFIX
from studio.core.serving import SCHEME, ArtifactServer, NotFound

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64  # requests of one artifact answered at once; more wait (a request flood) ...
MAX_WAITING = 4096  # ... up to this many; more are refused
CACHE_BYTES = 64 * 1024 * 1024  # answers kept as QByteArrays (no copy per request)
CACHE_ITEM_BYTES = 16 * 1024 * 1024  # bigger answers are copied each time, not kept
PACK_QUERY_KEYS = frozenset({"external"})  # the only query keys that change a pack file

# With the Network toggle off: fetch/XHR/WebSocket/EventSource/WebTransport/beacons reach only the
# artifact's own origin (the runtime pack is served there) and in-page data. Chromium enforces it
# in the renderer, before the request interceptor or the network gate.
NETWORK_OFF_CSP = "connect-src 'self' data: blob:"

_registered = False


def register_scheme() -> None:
    """Register the ``artifact`` scheme. Call once, BEFORE the QApplication is created.

    Flags, chosen deliberately:

    - SecureScheme: artifacts are a secure context (crypto.subtle, etc. work) and mixed-content
      rules apply to anything they try to load over plain http.
    - CorsEnabled + FetchApiAllowed: ``fetch("data/x.csv")`` works same-origin, CORS applies.
    - NOT LocalScheme / LocalAccessAllowed: artifacts are untrusted remote-like content, so
      Chromium forbids them from touching file:// at all.
    - NOT ContentSecurityPolicyIgnored: a page's own CSP is honoured.
    - NOT ServiceWorkersAllowed: no background code outliving the page.
    - NOT ViewSourceAllowed.
    The host is the artifact id (HostAndPort syntax), so each artifact is its own origin.
    """
    global _registered
    if _registered:
        return
    scheme = QWebEngineUrlScheme(SCHEME.encode())
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    scheme.setDefaultPort(QWebEngineUrlScheme.SpecialPort.PortUnspecified.value)
    flags = (
        QWebEngineUrlScheme.Flag.SecureScheme
        | QWebEngineUrlScheme.Flag.CorsEnabled
        | QWebEngineUrlScheme.Flag.FetchApiAllowed
    )
    scheme.setFlags(flags)
    QWebEngineUrlScheme.registerScheme(scheme)
    _registered = True


def scheme_registered() -> bool:
    """Whether :func:`register_scheme` has run in this process."""
    return _registered or QWebEngineUrlScheme.schemeByName(SCHEME.encode()).name() == SCHEME.encode()


def canonical_pack_query(query: str) -> str:
    """A pack URL's query with only the keys that change the answer (the cache key stays stable)."""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in PACK_QUERY_KEYS]
    return urlencode(sorted(kept))


def _header(value: str) -> list[QByteArray]:
    # PySide6 6.12 turns a bare QByteArray value into one header per byte: pass a list.
    return [QByteArray(value.encode("latin-1"))]


class ArtifactSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers ``artifact://`` GET requests from an :class:`ArtifactServer`.

    Args:
        server: where pages and files come from.
        parent: the Qt parent (the profile).
        network_allowed: whether an artifact host may reach the network; while it may not, its
            answers carry :data:`NETWORK_OFF_CSP`.

    Signals:
        refused(str url, str host): a request was refused: the artifact had too many waiting.
    """

    refused = Signal(str, str)

    def __init__(
        self,
        server: ArtifactServer,
        parent: QObject | None = None,
        *,
        network_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self._server = server
        self._network_allowed = network_allowed or (lambda host: False)
        self._in_flight: dict[str, int] = {}
        self._waiting: dict[str, deque[QWebEngineUrlRequestJob]] = {}
        self._cache: OrderedDict[tuple[str, str, str], tuple[bytes, QByteArray]] = OrderedDict()
        self._sources: dict[tuple[str, str, str], bytes] = {}  # the server's bytes behind each entry
        self._cache_bytes = 0

    def in_flight(self, host: str) -> int:
        """Requests of artifact ``host`` being answered now."""
        return self._in_flight.get(host.lower(), 0)

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        """Serve one request (GET only)."""
        url = job.requestUrl()
        if bytes(job.requestMethod().data()) != b"GET":
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
            return
        host = url.host().lower()
        if self._in_flight.get(host, 0) >= MAX_IN_FLIGHT:
            waiting = self._waiting.setdefault(host, deque())
            if len(waiting) >= MAX_WAITING:
                job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
                log.debug("too many requests waiting for %s: refused %s", host, url.toString())
                self.refused.emit(url.toString(), host)
            else:  # answered when one in flight is done
                waiting.append(job)
            return
        self._serve(job, url, host)

    def _serve(self, job: QWebEngineUrlRequestJob, url: QUrl, host: str) -> None:
        path = url.path(QUrl.ComponentFormattingOption.FullyDecoded)
        pack = path.startswith(CDN_PREFIX)
        query = canonical_pack_query(url.query()) if pack else url.query()
        try:
            mime, data = self._resolve(host, path, query, pack)
        except NotFound as exc:
            log.debug("not found: %s (%s)", url.toString(), exc)
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        headers: dict[QByteArray, list[QByteArray]] = {}
        if pack:
            # Pack files answer redirected cross-origin requests (module scripts, fetch): allow CORS.
            headers[QByteArray(b"Access-Control-Allow-Origin")] = _header("*")
        if not self._network_allowed(host):
            headers[QByteArray(b"Content-Security-Policy")] = _header(NETWORK_OFF_CSP)
        if headers:
            job.setAdditionalResponseHeaders(headers)  # type: ignore[arg-type]  # list values: see _header
        self._in_flight[host] = self._in_flight.get(host, 0) + 1
        job.destroyed.connect(lambda *_a, h=host: self._done(h))
        buf = QBuffer(parent=job)
        buf.setData(data)
        job.reply(mime.encode(), buf)

    def _done(self, host: str) -> None:
        left = self._in_flight.get(host, 1) - 1
        if left > 0:
            self._in_flight[host] = left
        else:
            self._in_flight.pop(host, None)
        waiting = self._waiting.get(host)
        while waiting:
            job = waiting.popleft()
            if shiboken6.isValid(job):  # a cancelled request's job is gone
                self._serve(job, job.requestUrl(), host)
                break
        if not waiting:
            self._waiting.pop(host, None)

    def _resolve(self, host: str, path: str, query: str, pack: bool) -> tuple[str, QByteArray]:
        """(mime, body): pack files and pages come from the cache when their bytes are unchanged."""
        key = ("" if pack else host, path, query)
        hit = self._cache.get(key)
        if pack and hit is not None:
            self._cache.move_to_end(key)
            return hit[0].decode(), hit[1]
        mime, data = self._server.resolve(host, path, query)
        if hit is not None and hit[0] == mime.encode() and self._same(key, data):
            self._cache.move_to_end(key)
            return mime, hit[1]
        body = QByteArray(data)
        if len(data) <= CACHE_ITEM_BYTES:
            self._keep(key, mime, data, body)
        return mime, body

    def _same(self, key: tuple[str, str, str], data: bytes) -> bool:
        return self._sources.get(key) is data

    def _keep(self, key: tuple[str, str, str], mime: str, data: bytes, body: QByteArray) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_bytes -= old[1].size()
        self._cache[key] = (mime.encode(), body)
        self._sources[key] = data
        self._cache_bytes += body.size()
        while self._cache_bytes > CACHE_BYTES and self._cache:
            gone, (_, dropped) = self._cache.popitem(last=False)
            self._sources.pop(gone, None)
            self._cache_bytes -= dropped.size()
