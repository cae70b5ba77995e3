"""One function builds the sandboxed artifact profile: scheme handler, interceptor, settings."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEngineProfile,
    QWebEngineProfileBuilder,
    QWebEngineScript,
    QWebEngineSettings,
)

from studio.core.serving import SCHEME, ArtifactServer
from studio.web.bridge import bridge_scripts
from studio.web.interceptor import RequestInterceptor
from studio.web.page import HINTS_JS, UNHANDLED_REJECTION_JS
from studio.web.scheme import ArtifactSchemeHandler, scheme_registered

log = logging.getLogger(__name__)

_A = QWebEngineSettings.WebAttribute

# Artifacts are untrusted code: fewer rights than the app's own pages.
SETTINGS: dict[QWebEngineSettings.WebAttribute, bool] = {
    _A.JavascriptEnabled: True,
    _A.LocalStorageEnabled: True,  # per artifact: each one is its own origin
    _A.LocalContentCanAccessRemoteUrls: False,
    _A.LocalContentCanAccessFileUrls: False,
    _A.PluginsEnabled: False,
    _A.PdfViewerEnabled: False,
    _A.JavascriptCanOpenWindows: False,
    _A.JavascriptCanAccessClipboard: False,
    _A.JavascriptCanPaste: False,
    _A.AllowWindowActivationFromJavaScript: False,
    _A.FocusOnNavigationEnabled: False,  # a render never steals focus from the composer
    _A.AllowRunningInsecureContent: False,
    _A.AllowGeolocationOnInsecureOrigins: False,
    _A.DnsPrefetchEnabled: False,
    _A.HyperlinkAuditingEnabled: False,
    _A.ScreenCaptureEnabled: False,
    _A.WebRTCPublicInterfacesOnly: True,
    _A.NavigateOnDropEnabled: False,
    _A.FullScreenSupportEnabled: False,
    _A.ErrorPageEnabled: False,
    _A.AutoLoadIconsForPage: False,
    _A.TouchIconsEnabled: False,
}

# WebRTC can reach the network outside the request interceptor (STUN/UDP): remove it from the page
# (a convenience; below the page, Chromium's WebRTC IP policy and the network gate stop it: flags.py).
_NO_WEBRTC_JS = """
(() => {
  const NAMES = ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel",
                 "RTCSessionDescription", "RTCIceCandidate"];
  const scrub = (w) => {
    for (const name of NAMES) {
      try {
        if (!(name in w)) continue;
        const stub = function () {
          console.warn("WebRTC blocked: " + name + " is not available to artifacts");
          throw new TypeError(name + " is not available to artifacts");
        };
        Object.defineProperty(w, name, {value: stub, configurable: false});
      } catch (e) {}
    }
  };
  scrub(window);
  // A fresh iframe's window exists before this script runs in it: scrub it when it is handed out.
  for (const cls of [window.HTMLIFrameElement, window.HTMLFrameElement, window.HTMLObjectElement]) {
    const desc = cls && Object.getOwnPropertyDescriptor(cls.prototype, "contentWindow");
    if (!desc || !desc.get) continue;
    Object.defineProperty(cls.prototype, "contentWindow", {configurable: false, get() {
      const w = desc.get.call(this);
      if (w) { try { scrub(w); } catch (e) {} }
      return w;
    }});
  }
})();
"""


def build_artifact_profile(
    server: ArtifactServer, parent: QObject | None = None, *, storage_path: Path | None = None
) -> QWebEngineProfile:
    """Build the profile every artifact renders in.

    Args:
        server: the in-memory server the ``artifact:`` scheme reads from.
        parent: the profile's Qt parent (delete pages before it).
        storage_path: where artifacts' localStorage and IndexedDB persist across runs (each artifact
            is its own origin, so each has its own); None: off the record, nothing on disk. The
            HTTP cache stays in memory and cookies never persist either way.

    Returns:
        The profile; its interceptor is ``profile.artifact_interceptor`` (signal ``blocked``).
    """
    if not scheme_registered():
        raise RuntimeError("register_scheme() must be called before the QApplication is created")
    builder = QWebEngineProfileBuilder()
    builder.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
    builder.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
    builder.setPersistentPermissionsPolicy(QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime)
    if storage_path is None:
        profile = builder.createOffTheRecordProfile(parent)
    else:
        storage_path.mkdir(parents=True, exist_ok=True)
        builder.setPersistentStoragePath(str(storage_path))
        builder.setCachePath(str(storage_path / "cache"))
        profile = builder.createProfile("artifacts", parent)
    settings = profile.settings()
    for attr, on in SETTINGS.items():
        settings.setAttribute(attr, on)

    interceptor = RequestInterceptor(profile)
    handler = ArtifactSchemeHandler(server, profile, network_allowed=interceptor.network_allowed)
    handler.refused.connect(interceptor.blocked)
    profile.installUrlSchemeHandler(SCHEME.encode(), handler)
    profile.setUrlRequestInterceptor(interceptor)

    for name, source in (
        ("studio-no-webrtc", _NO_WEBRTC_JS),
        ("studio-rejections", UNHANDLED_REJECTION_JS),
        ("studio-hints", HINTS_JS),
    ):
        script = QWebEngineScript()
        script.setName(name)
        script.setSourceCode(source)
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        script.setRunsOnSubFrames(True)
        profile.scripts().insert(script)
    for script in bridge_scripts():  # window.studio (main frame only)
        profile.scripts().insert(script)

    profile.downloadRequested.connect(_refuse_download)
    # Keep the Python wrappers alive as long as the profile.
    profile.artifact_handler = handler  # type: ignore[attr-defined]
    profile.artifact_interceptor = interceptor  # type: ignore[attr-defined]
    profile.artifact_server = server  # type: ignore[attr-defined]
    return profile


def _refuse_download(download: QWebEngineDownloadRequest) -> None:
    log.info("download refused: %s", download.url().toString())
    download.cancel()


def artifact_interceptor(profile: QWebEngineProfile) -> RequestInterceptor | None:
    """The request interceptor of a profile made by :func:`build_artifact_profile` (else None)."""
    found = getattr(profile, "artifact_interceptor", None)
    return found if isinstance(found, RequestInterceptor) else None
