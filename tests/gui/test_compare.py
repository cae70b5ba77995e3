"""Compare two versions: two live sandboxed previews (each its own origin) beside the code diff."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QUrl

from studio.ui.compare import CompareVersion, CompareView, open_compare


def _version(n: int, colour: str) -> CompareVersion:
    source = f"<body style='background:{colour}'>\n<h1>Version {n}</h1>\n<script>\nfetch('data/n.txt').then(r => r.text()).then(t => document.title = 'v{n}:' + t);\n</script>\n</body>"
    return CompareVersion(n, f"v{n} (answer)", source, source)


def test_compare_loads_two_versions_side_by_side_with_their_diff(
    qtbot, artifact_profile, artifact_server
) -> None:  # type: ignore[no-untyped-def]
    artifact_server.put_file("art", "n.txt", "text/plain", b"data")
    versions = [_version(1, "red"), _version(2, "green"), _version(3, "blue")]
    view = CompareView(artifact_profile, artifact_server, "art", versions, current=3)
    try:
        view.show()
        left, right = view.left.view.artifact_page, view.right.view.artifact_page
        # The newest against the one before it; both pages load, each fetches the artifact's data file.
        assert view.pair() == (2, 3)
        qtbot.waitUntil(lambda: (left.title(), right.title()) == ("v2:data", "v3:data"), timeout=20000)
        assert (view.left.heading.text(), view.right.heading.text()) == ("v2 (answer)", "v3 (answer)")
        hosts = {QUrl(p.url()).host() for p in (left, right)}
        assert len(hosts) == 2 and "art" not in hosts  # own origins: no storage shared with the pane
        diff = view.diff.plain_text()
        assert "-<body style='background:green'>" in diff and "+<body style='background:blue'>" in diff

        with qtbot.waitSignal(left.loadFinished, timeout=20000) as finished:
            view.compare(1, 3)
        assert finished.args == [True]
        qtbot.waitUntil(lambda: left.title() == "v1:data", timeout=20000)
        assert "-<h1>Version 1</h1>" in view.diff.plain_text()

        view.close()  # the pages stop and the server forgets the copies
        assert not artifact_server.files("art~compare-a")
        assert artifact_server.files("art")
    finally:
        if shiboken6.isValid(view):
            shiboken6.delete(view)


def test_compare_needs_two_versions(qtbot, artifact_profile, artifact_server) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    assert open_compare(parent, artifact_profile, artifact_server, "art", [], None) is None
