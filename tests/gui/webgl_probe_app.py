"""Run as a script: start the app's QApplication (its Chromium flags), render a WebGL page, print it.

Prints ``WEBGL <renderer>`` or ``WEBGL none`` (tests/gui/test_webgl_fallback.py runs it in a fresh
process, since Chromium reads its flags once per process).
"""

from __future__ import annotations

import sys

PAGE = (
    "<!doctype html><canvas id=c></canvas><script>const g = c.getContext('webgl'); let r = 'none';"
    "if (g) { const e = g.getExtension('WEBGL_debug_renderer_info');"
    " r = e ? g.getParameter(e.UNMASKED_RENDERER_WEBGL) : g.getParameter(g.RENDERER); }"
    "document.title = 'WEBGL ' + r;</script>"
)


def main() -> int:
    from studio.app import create_application

    app = create_application()
    import shiboken6
    from PySide6.QtCore import QTimer, QUrl

    from studio.core.serving import ArtifactServer
    from studio.web.preview import SandboxView
    from studio.web.profile import build_artifact_profile

    server = ArtifactServer()
    profile = build_artifact_profile(server)
    view = SandboxView(profile)
    view.resize(320, 240)
    view.show()
    out: list[str] = []

    def titled(title: str) -> None:
        if title.startswith("WEBGL ") and not out:
            out.append(title)
            app.quit()

    view.artifact_page.titleChanged.connect(titled)
    view.artifact_page.load(QUrl(server.put_page("webgl", PAGE)))
    QTimer.singleShot(30000, app.quit)
    app.exec()
    shiboken6.delete(view)
    shiboken6.delete(profile)
    print(out[0] if out else "WEBGL timeout", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
