"""The composer: keys, Send/Stop, and files dropped with real QDropEvents (accepted or refused)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent
from PySide6.QtWidgets import QApplication

from studio.core.attachments import MAX_FILE_BYTES, Attachment
from studio.ui.composer import Composer
from tests.gui.dnd import drop_files


@pytest.fixture
def composer(qtbot) -> Composer:
    widget = Composer()
    qtbot.addWidget(widget)
    widget.resize(500, 120)
    widget.show()
    widget.focus_input()
    return widget


def test_enter_sends_and_clears(composer: Composer, qtbot) -> None:
    qtbot.keyClicks(composer.input, "draw a cat")
    with qtbot.waitSignal(composer.sendRequested, timeout=1000) as sig:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sig.args == ["draw a cat", []]
    assert composer.text() == ""


def test_shift_enter_inserts_a_newline(composer: Composer, qtbot) -> None:
    sent: list[object] = []
    composer.sendRequested.connect(lambda *a: sent.append(a))
    qtbot.keyClicks(composer.input, "line one")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.input, "line two")
    assert composer.text() == "line one\nline two" and sent == []
    qtbot.keyClick(composer.input, Qt.Key.Key_Enter)  # the keypad Enter sends too
    assert sent == [("line one\nline two", [])]


def test_empty_input_does_not_send(composer: Composer, qtbot) -> None:
    sent: list[object] = []
    composer.sendRequested.connect(lambda *a: sent.append(a))
    qtbot.keyClicks(composer.input, "   ")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent == []


def test_escape_stops_and_busy_turns_send_into_stop(composer: Composer, qtbot) -> None:
    composer.set_busy(True)
    assert composer.button.text() == "Stop"
    with qtbot.waitSignal(composer.stopRequested, timeout=1000):
        qtbot.keyClick(composer.input, Qt.Key.Key_Escape)
    sent: list[object] = []
    composer.sendRequested.connect(lambda *a: sent.append(a))
    qtbot.keyClicks(composer.input, "next question")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent == [] and composer.text() == "next question"  # kept until the answer ends
    with qtbot.waitSignal(composer.stopRequested, timeout=1000):
        qtbot.mouseClick(composer.button, Qt.MouseButton.LeftButton)
    composer.set_busy(False)
    assert composer.button.text() == "Send"
    qtbot.mouseClick(composer.button, Qt.MouseButton.LeftButton)
    assert sent == [("next question", [])]


@pytest.fixture
def sample_files(tmp_path: Path) -> dict[str, str]:
    text = tmp_path / "notes.txt"
    text.write_text("some notes\n")
    csv = tmp_path / "sales.csv"
    csv.write_text("month,amount\njan,10\nfeb,12\n")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:  # sparse: no real 20 MB written
        f.truncate(MAX_FILE_BYTES + 1)
    folder = tmp_path / "folder"
    folder.mkdir()
    unreadable = tmp_path / "secret.txt"
    unreadable.write_text("x")
    unreadable.chmod(0)
    return {
        "text": str(text),
        "csv": str(csv),
        "binary": str(binary),
        "huge": str(huge),
        "folder": str(folder),
        "unreadable": str(unreadable),
    }


@pytest.mark.parametrize("target", ["composer", "input"])
def test_dropped_text_and_csv_become_chips(
    composer: Composer, sample_files: dict[str, str], target: str
) -> None:
    widget = composer if target == "composer" else composer.input
    event = drop_files(widget, [sample_files["text"], sample_files["csv"]])
    assert event.isAccepted()
    atts = composer.attachments()
    assert [(a.name, a.kind) for a in atts] == [("notes.txt", "text"), ("sales.csv", "table")]
    assert all(isinstance(a, Attachment) for a in atts)
    labels = [chip.label.text() for chip in composer.findChildren(type(composer._chips[0]))]
    assert "notes.txt · 11 B" in labels and "sales.csv · 27 B" in labels
    assert composer.text() == ""  # the URLs were not pasted as text


@pytest.mark.parametrize(
    ("kind", "words"),
    [("binary", "binary"), ("huge", "too large"), ("folder", "folder"), ("unreadable", "permission")],
)
def test_refused_drops_explain_why(
    composer: Composer, qtbot, sample_files: dict[str, str], kind, words
) -> None:
    if kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads any file")
    with qtbot.waitSignal(composer.attachmentRefused, timeout=1000) as sig:
        drop_files(composer, [sample_files[kind]])
    reason = sig.args[0]
    assert words in reason and "\n" not in reason
    assert composer.attachments() == []
    assert composer.refusal.isVisible() and composer.refusal.text() == reason


def test_mixed_drop_keeps_the_good_files(composer: Composer, sample_files: dict[str, str]) -> None:
    refused: list[str] = []
    composer.attachmentRefused.connect(refused.append)
    composer.add_files(
        [sample_files["binary"], sample_files["text"], sample_files["folder"], "/no/such/file"]
    )
    assert [a.name for a in composer.attachments()] == ["notes.txt"]
    assert len(refused) == 3


def test_chips_are_removable_and_sent_with_the_text(composer: Composer, qtbot, sample_files) -> None:
    composer.add_files([sample_files["text"], sample_files["csv"]])
    assert composer.chip_row.isVisible()
    first = composer._chips[0]
    qtbot.mouseClick(first.remove_button, Qt.MouseButton.LeftButton)
    assert [a.name for a in composer.attachments()] == ["sales.csv"]
    qtbot.keyClicks(composer.input, "chart this")
    with qtbot.waitSignal(composer.sendRequested, timeout=1000) as sig:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    text, atts = sig.args
    assert text == "chart this" and [a.name for a in atts] == ["sales.csv"]
    assert composer.attachments() == [] and not composer.chip_row.isVisible()


def test_attachment_alone_can_be_sent(composer: Composer, qtbot, sample_files) -> None:
    composer.add_files([sample_files["csv"]])
    with qtbot.waitSignal(composer.sendRequested, timeout=1000) as sig:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sig.args[0] == "" and len(sig.args[1]) == 1


def test_plain_text_drag_is_left_to_the_editor(composer: Composer) -> None:
    mime = QMimeData()
    mime.setText("dragged words")
    enter = QDragEnterEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(composer, enter)
    assert not enter.isAccepted()
    assert composer.attachments() == []
