"""The download dialog running the REAL download code against a fake hub over HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import fakehub
import pytest
import shiboken6
from PySide6.QtCore import Qt, QTimer

from studio.ui.downloaddialog import DownloadDialog, format_progress, human_eta

LEFT = Qt.MouseButton.LeftButton
REPO = "tester/tiny-model"
WEIGHTS = os.urandom(2_500_000)
FILES = {"config.json": b'{"model_type": "qwen2"}', "tokenizer.json": b"{}", "model.safetensors": WEIGHTS}


@pytest.fixture(autouse=True)
def online() -> Iterator[None]:
    with fakehub.hub_online():
        yield


@pytest.fixture
def dialogs(qtbot) -> Iterator[list[DownloadDialog]]:  # type: ignore[no-untyped-def]
    made: list[DownloadDialog] = []
    yield made
    for d in made:
        assert d.wait(20_000)
        if shiboken6.isValid(d):
            shiboken6.delete(d)


def make(made: list[DownloadDialog], hub: object, tmp_path: Path, repo: str = REPO) -> DownloadDialog:
    opts = {"endpoint": hub.endpoint, "cache_dir": tmp_path}  # type: ignore[attr-defined]
    d = DownloadDialog(repo, options=opts, autostart=False)
    made.append(d)
    d.show()
    return d


def test_progress_reaches_the_end_and_downloaded_fires_with_the_folder(qtbot, dialogs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fakehub.FakeHub({REPO: FILES}, throttle=5_000_000) as hub:
        d = make(dialogs, hub, tmp_path)
        values: list[int] = []
        d.bar.valueChanged.connect(values.append)
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(10)
        with qtbot.waitSignal(d.downloaded, timeout=20_000) as got:
            d.start()
        timer.stop()
    path = Path(got.args[0])
    assert (
        hashlib.sha256((path / "model.safetensors").read_bytes()).digest() == hashlib.sha256(WEIGHTS).digest()
    )
    assert d.state == "done" and d.bar.value() == d.bar.maximum()
    assert any(0 < v < d.bar.maximum() for v in values), values  # it moved on the way, not only at the end
    assert " of 2.5 MB" in d.figures.text()
    assert len(ticks) >= 20  # the GUI thread kept ticking through a ~0.5 s download
    assert not d.isVisible()  # a finished download closes its dialog


def test_cancel_mid_way_says_it_resumes_and_a_second_run_completes(qtbot, dialogs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fakehub.FakeHub({REPO: FILES}, throttle=1_000_000) as hub:
        d = make(dialogs, hub, tmp_path)
        failures: list[str] = []
        d.failed.connect(failures.append)
        d.start()
        qtbot.waitUntil(lambda: d.bar.value() > 100, timeout=15_000)  # >10% fetched
        qtbot.mouseClick(d.cancel_button, LEFT)
        qtbot.waitUntil(lambda: d.state == "cancelled", timeout=5_000)
        assert failures == ["cancelled"]
        assert "resumes" in d.message.text() and d.retry_button.isVisible()
        assert d.retry_button.text() == "Resume" and d.cancel_button.text() == "Close"
        assert d.figures.text().endswith(" of 2.5 MB fetched")  # no speed or time left once stopped
        qtbot.waitUntil(
            lambda: bool(hub.file_requests("model.safetensors")), timeout=5_000
        )  # server saw the hang-up
        first = hub.bytes_served("model.safetensors")
        assert 0 < first < len(WEIGHTS)
        hub.throttle = None
        with qtbot.waitSignal(d.downloaded, timeout=20_000) as got:
            qtbot.mouseClick(d.retry_button, LEFT)
        gets = hub.file_requests("model.safetensors")
    assert (Path(got.args[0]) / "model.safetensors").read_bytes() == WEIGHTS
    assert gets[-1].range is not None and gets[-1].status == 206  # it resumed, not restarted
    assert hub.bytes_served("model.safetensors") < 1.5 * len(WEIGHTS)


def test_unknown_repo_shows_one_clear_line_with_retry(qtbot, dialogs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fakehub.FakeHub({REPO: FILES}) as hub:
        d = make(dialogs, hub, tmp_path, repo="nobody/nothing")
        with qtbot.waitSignal(d.failed, timeout=10_000) as got:
            d.start()
    message = got.args[0]
    assert message.startswith("No model nobody/nothing on 127.0.0.1"), message
    assert "\n" not in d.message.text() and "Traceback" not in d.message.text()
    assert d.message.text() == f"Not started: {message}"  # the plan found no such repo
    assert d.state == "error" and d.retry_button.isVisible() and d.retry_button.text() == "Retry"


def test_closing_the_dialog_cancels_the_download(qtbot, dialogs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fakehub.FakeHub({REPO: FILES}, throttle=500_000) as hub:
        d = make(dialogs, hub, tmp_path)
        d.start()
        qtbot.waitUntil(lambda: d.state == "downloading" and d.bar.value() > 0, timeout=15_000)
        d.reject()
        qtbot.waitUntil(lambda: d.state == "cancelled", timeout=5_000)
        assert hub.bytes_served("model.safetensors") < len(WEIGHTS)


def test_the_figures_line() -> None:
    class P:
        done_bytes, total_bytes, speed_bps, eta_s = 1_200_000_000, 4_300_000_000, 38_000_000, 81.0

    assert format_progress(P()) == "1.2 GB of 4.3 GB · 38.0 MB/s · about 1 min left"
    assert human_eta(19) == "about 20 s left" and human_eta(None) is None
    assert human_eta(2 * 3600 + 300) == "about 2 h 5 min left"


@pytest.mark.parametrize("with_draft", [True, False])
def test_a_7b_download_offers_its_draft_model(qtbot, dialogs, tmp_path, with_draft: bool) -> None:  # type: ignore[no-untyped-def]
    from studio.models.catalog import draft_for, find

    entry = find("mlx:7B:4bit")
    assert entry is not None
    draft = draft_for(entry)
    assert draft is not None and draft.size == "0.5B"
    with fakehub.FakeHub({entry.repo: FILES, draft.repo: FILES}) as hub:
        opts = {"endpoint": hub.endpoint, "cache_dir": tmp_path}
        d = DownloadDialog(entry=entry, options=opts, autostart=False)
        dialogs.append(d)
        d.show()
        assert d.draft_box.isVisible() and d.draft_box.isChecked()
        assert "0.5B" in d.draft_box.text()
        d.draft_box.setChecked(with_draft)
        with qtbot.waitSignal(d.downloaded, timeout=20_000):
            d.start()
    if with_draft:
        assert d.draft_path is not None and (Path(d.draft_path) / "model.safetensors").is_file()
    else:
        assert d.draft_path is None


def test_small_models_and_llamacpp_have_no_draft(qtbot, dialogs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from studio.models.catalog import draft_for, find

    for entry_id in ("mlx:3B:4bit", "llamacpp:7B:q4_k_m"):
        entry = find(entry_id)
        assert entry is not None and draft_for(entry) is None
    entry = find("mlx:3B:4bit")
    d = DownloadDialog(entry=entry, options={"cache_dir": tmp_path}, autostart=False)
    dialogs.append(d)
    assert not d.draft_box.isVisibleTo(d)
    cuda = find("cuda:32B:nf4")
    assert cuda is not None and draft_for(cuda) == find("cuda:0.5B:bf16")
