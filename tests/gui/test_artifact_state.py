"""Per-artifact state: each artifact its own origin, storage that outlives the app, "Reset state"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QUrl

PROBE = Path(__file__).with_name("state_probe.py")
REPO = Path(__file__).resolve().parents[2]

COUNTER = """<!DOCTYPE html><html><body><script>
(async () => {
  const n = Number(localStorage.getItem("n") || 0) + 1;
  localStorage.setItem("n", String(n));
  const db = await new Promise((ok) => {
    const r = indexedDB.open("store", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("kv");
    r.onsuccess = () => ok(r.result);
  });
  await new Promise((ok) => {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(n, "n");
    tx.oncomplete = ok;
  });
  // The artifact keeps its connection open, as real ones do.
  const names = (await indexedDB.databases()).map((d) => d.name);
  document.title = JSON.stringify({n, names});
})();
</script></body></html>"""


# Writes localStorage every few milliseconds and shows what it found and what it wrote last.
TICKER = """<!DOCTYPE html><html><body><script>
let n = Number(localStorage.getItem("ticks") || 0);
const start = n;
document.title = JSON.stringify({start, n});
setInterval(() => {
  n += 1;
  localStorage.setItem("ticks", String(n));
  document.title = JSON.stringify({start, n});
}, 4);
</script></body></html>"""


def _probe(storage: Path, artifact: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(PROBE), str(storage), artifact],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_storage_persists_across_app_restarts_for_that_artifact_only(tmp_path) -> None:
    """Three separate processes on one storage folder: the same artifact sees its data, another not."""
    storage = tmp_path / "artifact-state"
    assert _probe(storage, "game-a") == {"local": 0, "idb": 0}
    assert _probe(storage, "game-a") == {"local": 1, "idb": 1}
    assert _probe(storage, "game-b") == {"local": 0, "idb": 0}
    assert _probe(storage, "game-a") == {"local": 2, "idb": 2}
    assert (storage / "Local Storage").is_dir() or any(storage.iterdir())


def _title(qtbot, page) -> dict:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: page.title().startswith("{"), timeout=10000)
    return json.loads(page.title())


def test_artifacts_cannot_read_each_others_storage(qtbot, make_page, artifact_server) -> None:
    page = make_page()
    page.load(QUrl(artifact_server.put_page("one", COUNTER)))
    assert _title(qtbot, page) == {"n": 1, "names": ["store"]}
    other = make_page()
    spy = """<script>
    (async () => { document.title = JSON.stringify({
      n: localStorage.getItem("n"), names: (await indexedDB.databases()).map((d) => d.name)}); })();
    </script>"""
    other.load(QUrl(artifact_server.put_page("two", spy)))
    assert _title(qtbot, other) == {"n": None, "names": []}


def test_reset_state_clears_only_the_shown_artifact(qtbot, artifact_pane, artifact_server, make_page) -> None:
    bystander = make_page()
    bystander.load(QUrl(artifact_server.put_page("bystander", COUNTER)))
    assert _title(qtbot, bystander)["n"] == 1

    pane = artifact_pane
    after: list[dict] = []  # what the first run after the reset found

    def watch_next_run(_aid: str) -> None:  # the reset has started the next run in the back page
        page = pane._back.view.artifact_page
        page.titleChanged.connect(lambda t: after.append(json.loads(t)) if t.startswith("{") else None)

    pane.stateReset.connect(watch_next_run)
    with qtbot.waitSignal(pane.rendered, timeout=10000):
        pane.show_artifact("counter", COUNTER, title="Counter", kind="html", final=True)
    assert _title(qtbot, pane._front.view.artifact_page)["n"] >= 1
    with qtbot.waitSignal(pane.rendered, timeout=10000):
        pane.reload()
    front = pane._front.view.artifact_page
    qtbot.waitUntil(
        lambda: front.title().startswith("{") and json.loads(front.title())["n"] >= 2, timeout=10000
    )
    with qtbot.waitSignal(pane.stateReset, timeout=15000) as reset:
        assert pane.reset_state()
    assert reset.args == ["counter"]
    # Run again from nothing: the counter starts over.
    qtbot.waitUntil(lambda: bool(after), timeout=10000)
    assert after[0] == {"n": 1, "names": ["store"]}
    # The other artifact's state is untouched.
    bystander.triggerAction(bystander.WebAction.Reload)
    qtbot.waitUntil(lambda: _title(qtbot, bystander)["n"] == 2, timeout=10000)


def test_reload_sees_every_write_of_the_page_it_replaces(qtbot, artifact_pane) -> None:
    """A reload starts where the page it replaces stopped: no localStorage write of it is lost."""
    pane = artifact_pane
    with qtbot.waitSignal(pane.rendered, timeout=10000):
        pane.show_artifact("ticker", TICKER, title="Ticker", kind="html", final=True)
    page = pane._front.view.artifact_page
    qtbot.waitUntil(
        lambda: page.title().startswith("{") and json.loads(page.title())["n"] >= 10, timeout=10000
    )
    first = json.loads(page.title())
    assert first["start"] == 0
    written = [first["n"]]  # what the first run wrote, as its titles said (they may lag behind)

    def note(title: str) -> None:
        if title.startswith("{") and json.loads(title)["start"] == 0:
            written.append(json.loads(title)["n"])

    page.titleChanged.connect(note)
    with qtbot.waitSignal(pane.rendered, timeout=10000):
        pane.reload()
    shown = pane._front.view.artifact_page
    qtbot.waitUntil(
        lambda: shown.title().startswith("{") and json.loads(shown.title())["start"] > 0, timeout=10000
    )
    assert json.loads(shown.title())["start"] >= max(written) > 0
