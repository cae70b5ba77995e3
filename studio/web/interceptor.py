"""The request interceptor: CDN URLs the runtime pack can serve are redirected to it; the rest is denied.

A request for a known CDN URL (``https://cdn.jsdelivr.net/npm/chart.js@4``) is redirected to the
artifact's own origin, ``artifact://<host>/_cdn/<cdn host>/<path>``, which the scheme handler answers
from the offline pack: no network. Any other request leaves the machine only when the user allowed
the network for that artifact (off by default).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor

from studio.core import runtime
from studio.core.serving import SCHEME
from studio.web.netgate import current_gate
from studio.web.scheme import canonical_pack_query

log = logging.getLogger(__name__)

# Schemes an artifact may load from: its own scheme and in-page data (no network, no files).
ALLOWED_SCHEMES = frozenset({SCHEME, "data", "blob", "about"})
# Schemes the per-artifact network toggle lets through (never file://).
NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss"})
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


@dataclass(frozen=True)
class Request:
    """A plain copy of the fields of a Qt request that the policy looks at."""

    url: str
    scheme: str
    first_party_host: str
    initiator: str
    resource_type: str
    first_party_scheme: str = SCHEME


def allowed(request: Request) -> bool:
    """The base policy: only artifact/data/blob/about URLs; no network, no file://."""
    return request.scheme.lower() in ALLOWED_SCHEMES


def pack_redirect(request: Request) -> str | None:
    """The ``artifact://`` URL that serves ``request`` from the runtime pack, or None.

    Only requests made by an artifact page (first party on the artifact scheme) are redirected,
    to that artifact's own origin.
    """
    if request.scheme.lower() not in ("http", "https") or request.first_party_scheme != SCHEME:
        return None
    if not request.first_party_host:
        return None
    try:
        path = runtime.cdn_path(request.url)
    except Exception:  # a broken manifest must not break the sandbox: fall back to blocking
        log.exception("runtime pack lookup failed for %s", request.url)
        return None
    if path is None:
        return None
    path, _, query = path.partition("?")
    query = canonical_pack_query(query)  # a changing cache-buster must not defeat the caches
    return f"{SCHEME}://{request.first_party_host}{path}" + (f"?{query}" if query else "")


class RequestInterceptor(QWebEngineUrlRequestInterceptor):
    """Serves known CDN URLs from the pack, denies the rest unless the artifact may use the network.

    Runs on the UI thread.

    Signals:
        blocked(str url, str first_party_host): a request was denied; the host is the
            artifact that made it (its first-party URL's host).
        allowedNetwork(str url, str first_party_host): a request went to the network because the
            user allowed it for that artifact.
        served(str url, str first_party_host): a CDN request was answered from the offline pack.
        connectionBlocked(str address): the network gate refused a connection that never was a
            request (a preconnect): ``tcp://host:port``; which artifact made it is not known.
    """

    blocked = Signal(str, str)
    allowedNetwork = Signal(str, str)
    served = Signal(str, str)
    connectionBlocked = Signal(str)
    _gateRefused = Signal(str, int)  # emitted from a gate thread, delivered queued

    def __init__(self, parent: QObject | None = None, *, network_default: bool = False) -> None:
        super().__init__(parent)
        self.network_default = network_default
        self._network: dict[str, bool] = {}
        self._gateRefused.connect(self._gate_refused)
        gate = current_gate()
        if gate is not None:
            emit = self._gateRefused.emit
            gate.add_listener(emit)
            self.destroyed.connect(lambda *_a: gate.remove_listener(emit))

    def _gate_refused(self, host: str, port: int) -> None:
        self.connectionBlocked.emit(f"tcp://{host}:{port}")

    # -- the per-artifact network toggle --------------------------------------------------
    def network_allowed(self, host: str) -> bool:
        """Whether artifact ``host`` may reach the network (its toggle, else the default)."""
        return self._network.get(host.lower(), self.network_default)

    def set_network_allowed(self, host: str, on: bool) -> None:
        """Let artifact ``host`` reach the network (or not) from now on."""
        self._network[host.lower()] = on
        log.info("network %s for artifact %s", "allowed" if on else "blocked", host)

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        """Redirect pack URLs, let allowed ones through, block the rest."""
        url = info.requestUrl()
        first = info.firstPartyUrl()
        req = Request(
            url=url.toString(),
            scheme=url.scheme(),
            first_party_host=first.host(),
            initiator=info.initiator().toString(),
            resource_type=str(info.resourceType().name),
            first_party_scheme=first.scheme(),
        )
        if allowed(req):
            return
        target = pack_redirect(req)
        if target is not None:
            log.debug("pack serves %s as %s", req.url, target)
            info.redirect(QUrl(target))
            self.served.emit(req.url, req.first_party_host)
            return
        if (
            req.scheme.lower() in NETWORK_SCHEMES
            and req.first_party_scheme == SCHEME
            and self.network_allowed(req.first_party_host)
        ):
            log.info("network request to %s from %s (allowed by the user)", req.url, req.first_party_host)
            gate = current_gate()
            if gate is not None:  # the gate relays connections only to destinations allowed here
                gate.allow(url.host(), url.port(_DEFAULT_PORTS.get(req.scheme.lower(), 443)))
            self.allowedNetwork.emit(req.url, req.first_party_host)
            return
        info.block(True)
        log.info("blocked %s request to %s from %s", req.resource_type, req.url, req.first_party_host)
        self.blocked.emit(req.url, req.first_party_host)
