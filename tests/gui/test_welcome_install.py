"""The welcome view's "Install the llama.cpp engine": offered only when the engine is missing from a
source checkout; pip really runs (into a fresh venv, from a local wheel), with progress, cancel and a
one-line error; then the recommendation is made again without a restart."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import engine_venv
import pytest
from PySide6.QtCore import Qt

from studio.models.sysinfo import Memory
from studio.ui.welcome import INSTALL_TEXT, WelcomeView, recommendation


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return engine_venv.make_venv(tmp_path_factory.mktemp("venv") / "v")


@pytest.fixture
def pip_from(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def use(links: Path) -> None:
        for key in [k for k in os.environ if k.startswith("PIP_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("PIP_NO_INDEX", "1")
        monkeypatch.setenv("PIP_FIND_LINKS", str(links))
        monkeypatch.setenv("PIP_FORCE_REINSTALL", "1")  # whatever another test installed there

    return use


def _view(qtbot, offer: str | None) -> WelcomeView:  # type: ignore[no-untyped-def]
    view = WelcomeView(None, Memory.of(16))
    qtbot.addWidget(view)
    view.set_recommendation(None, Memory.of(16), offer)
    view.show()
    return view


def test_offered_only_when_the_engine_is_missing(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = _view(qtbot, "llamacpp")
    assert view.install_box.isVisible() and view.install_button.text() == INSTALL_TEXT
    assert view.reco_facts.text().startswith("Install the llama.cpp engine below")
    view.set_recommendation(None, Memory.of(16), None)
    assert not view.install_box.isVisible()
    # the real decision in this environment (llama-cpp-python is installed here): no offer
    pytest.importorskip("llama_cpp")
    found = recommendation()
    assert found[2] is None
    view.set_recommendation(*found)
    assert not view.install_box.isVisible() and view.entry is not None


@pytest.mark.skipif(sys.platform == "darwin", reason="Apple silicon's engine is MLX")
def test_install_runs_pip_then_recommends_again(qtbot, bare, pip_from, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine_venv.make_sdist(tmp_path / "sources")  # pip builds it, printing build steps like a compile
    pip_from(tmp_path / "sources")
    view = _view(qtbot, "llamacpp")
    view.install_python = str(bare)
    lines: list[str] = []
    bar: list[tuple[int, int]] = []
    shown = view._install_progress

    def seen(step: object) -> None:
        shown(step)
        lines.append(step.line)  # type: ignore[attr-defined]
        bar.append((view.install_bar.maximum(), view.install_bar.value()))

    view._install_progress = seen  # type: ignore[method-assign]
    with qtbot.waitSignal(view.engineInstalled, timeout=120_000) as installed:
        qtbot.mouseClick(view.install_button, Qt.MouseButton.LeftButton)
        assert view.installing and view.install_button.text() == "Cancel" and view.install_bar.isVisible()
    assert installed.args == ["llamacpp"]
    assert not view.install_box.isVisible() and not view.install_error.isVisible()
    qtbot.waitUntil(lambda: not view.checking, timeout=30_000)  # made again, off the GUI thread
    out = bare.parent.parent / "lib"
    assert any(out.glob("python3*/site-packages/llama_cpp/__init__.py"))  # pip put it in that venv
    assert any(line.startswith("Successfully installed llama-cpp-python-0.3.36") for line in lines)
    assert [v for top, v in bar if top == 100][:4] == [25, 50, 75, 100]  # the build's steps drive the bar


@pytest.mark.skipif(os.name != "posix", reason="the stand-in pip is a shell script")
def test_cancel_then_a_failure_each_say_one_line(qtbot, bare, pip_from, tmp_path) -> None:  # type: ignore[no-untyped-def]
    hang = tmp_path / "hanging-python"
    hang.write_text(
        "#!/bin/sh\necho 'Building wheel for llama-cpp-python (pyproject.toml)'\nexec sleep 600\n"
    )
    hang.chmod(hang.stat().st_mode | stat.S_IEXEC)
    view = _view(qtbot, "llamacpp")
    view.install_python = str(hang)
    qtbot.mouseClick(view.install_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.install_step.text().startswith("Building wheel"), timeout=30_000)
    qtbot.mouseClick(view.install_button, Qt.MouseButton.LeftButton)  # now "Cancel"
    qtbot.waitUntil(lambda: not view.installing, timeout=30_000)  # sleep 600: only the cancel ends it
    assert view.install_error.text() == "Install cancelled." and view.install_button.text() == INSTALL_TEXT
    # pip with nothing to install from: one line, and the button offers it again
    (tmp_path / "empty").mkdir()
    pip_from(tmp_path / "empty")
    view.install_python = str(bare)
    qtbot.mouseClick(view.install_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.installing, timeout=120_000)
    text = view.install_error.text()
    assert text.startswith("pip failed (exit 1): Could not find a version") and "\n" not in text
    assert view.install_error.isVisible() and view.install_box.isVisible()
    assert view.wait_install()
