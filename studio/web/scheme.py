"""The ``artifact:`` URL scheme: registration and the handler (an adapter over ArtifactServer)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QBuffer, QByteArray, QObject, QUrl
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

from studio.core.runtime import CDN_PREFIX
from studio.core.serving import SCHEME, ArtifactServer, NotFound

log = logging.getLogger(__name__)

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


class ArtifactSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers ``artifact://`` GET requests from an :class:`ArtifactServer`."""

    def __init__(self, server: ArtifactServer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = server

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        """Serve one request (GET only)."""
        url = job.requestUrl()
        if bytes(job.requestMethod().data()) != b"GET":
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
            return
        try:
            path = url.path(QUrl.ComponentFormattingOption.FullyDecoded)
            mime, data = self._server.resolve(url.host(), path, url.query())
        except NotFound as exc:
            log.debug("not found: %s (%s)", url.toString(), exc)
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        if path.startswith(CDN_PREFIX):
            # Pack files answer redirected cross-origin requests (module scripts, fetch): allow CORS.
            job.setAdditionalResponseHeaders({QByteArray(b"Access-Control-Allow-Origin"): QByteArray(b"*")})
        buf = QBuffer(parent=job)
        buf.setData(QByteArray(data))
        job.reply(mime.encode(), buf)
