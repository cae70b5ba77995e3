"""The request interceptor: every request that is not on the allow-list is denied and reported."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor

from studio.core.serving import SCHEME

log = logging.getLogger("studio.web")

# Schemes an artifact may load from: its own scheme and in-page data (no network, no files).
ALLOWED_SCHEMES = frozenset({SCHEME, "data", "blob", "about"})


@dataclass(frozen=True)
class Request:
    """A plain copy of the fields of a Qt request that the policy looks at."""

    url: str
    scheme: str
    first_party_host: str
    initiator: str
    resource_type: str


def allowed(request: Request) -> bool:
    """The policy: only artifact/data/blob/about URLs; no network, no file://, ever."""
    return request.scheme.lower() in ALLOWED_SCHEMES


class RequestInterceptor(QWebEngineUrlRequestInterceptor):
    """Denies every request outside :data:`ALLOWED_SCHEMES` (runs on the UI thread).

    Signals:
        blocked(str url, str first_party_host): a request was denied; the host is the
            artifact that made it (its first-party URL's host).
    """

    blocked = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        """Block the request unless the policy allows it."""
        url = info.requestUrl()
        req = Request(
            url=url.toString(),
            scheme=url.scheme(),
            first_party_host=info.firstPartyUrl().host(),
            initiator=info.initiator().toString(),
            resource_type=str(info.resourceType().name),
        )
        if allowed(req):
            return
        info.block(True)
        log.info("blocked %s request to %s from %s", req.resource_type, req.url, req.first_party_host)
        self.blocked.emit(req.url, req.first_party_host)
