"""Download one model with a progress bar, off the GUI thread, resumable after Cancel.

The dialog first plans the download and checks the disk (both on a worker thread: they touch the
network and the disk), then runs :func:`studio.models.download.download` on another worker thread.
Progress comes back as queued signals; Cancel sets the download's CancelToken, and the files already
fetched stay in the Hugging Face cache, so a later download resumes where this one stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.base import CancelToken
from studio.ui.jobs import BackgroundJob, one_line

if TYPE_CHECKING:
    from studio.models.catalog import Entry
    from studio.models.download import DownloadPlan, DownloadProgress

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.1  # at most ten progress updates a second reach the GUI


def human_bytes(n: float) -> str:
    """1.2 GB, 38 MB, 512 kB (decimal units, like download sizes)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def human_eta(seconds: float | None) -> str | None:
    """ "about 1 min left", "about 20 s left"; None when unknown."""
    if seconds is None or seconds < 0:
        return None
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    hours, rest = divmod(int(seconds), 3600)
    return f"about {hours} h {rest // 60} min left"


def format_progress(p: Any) -> str:
    """ "1.2 GB of 4.3 GB · 38 MB/s · about 1 min left" for a DownloadProgress."""
    parts = [f"{human_bytes(p.done_bytes)} of {human_bytes(p.total_bytes)}"]
    if p.speed_bps:
        parts.append(f"{human_bytes(p.speed_bps)}/s")
    eta = human_eta(p.eta_s)
    if eta and p.done_bytes < p.total_bytes:
        parts.append(eta)
    return " · ".join(parts)


class DownloadDialog(QDialog):
    """Download one repository (or catalog entry) into the Hugging Face cache.

    Args:
        repo: the Hugging Face repository id.
        entry: a catalog entry (its repo and file pattern are used; ``repo`` may then be None).
        pattern: the files to fetch (None: the whole repository).
        options: passed to plan_download/download (endpoint, cache_dir, token, revision).
        autostart: start as soon as the dialog is made.
        parent: the Qt parent.

    Signals:
        downloaded(str): the local path (folder, or the GGUF file) once everything is there.
        failed(str): one line saying why the download stopped (cancel included).
    """

    downloaded = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        repo: str | None = None,
        *,
        entry: Entry | None = None,
        pattern: str | None = None,
        options: dict[str, Any] | None = None,
        autostart: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.entry = entry
        self.repo = entry.repo if entry is not None else str(repo)
        self.pattern = entry.pattern if entry is not None else pattern
        self.options = dict(options or {})
        self.state = "idle"  # idle, planning, downloading, done, cancelled, error
        self.path: str | None = None
        self.error: str | None = None
        self._cancel = CancelToken()
        self._job: BackgroundJob | None = None
        self._last_emit = 0.0
        self.last_progress: DownloadProgress | None = None
        self._lock = threading.Lock()
        name = entry.label if entry is not None else self.repo
        self.setWindowTitle(f"Download {name}")
        self.setMinimumWidth(520)
        self.title = QLabel(f"<b>{name}</b><br><span style='color:gray'>{self.repo}</span>")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.figures = QLabel("")
        self.figures.setObjectName("downloadFigures")
        self.file_label = QLabel("")
        self.file_label.setObjectName("downloadFile")
        self.file_label.setStyleSheet("color: gray")
        self.message = QLabel("")
        self.message.setObjectName("downloadMessage")
        self.message.setWordWrap(True)
        # The catalog's draft model for this entry (speculative decoding), offered with it.
        from studio.models.catalog import draft_for

        self.draft = draft_for(entry) if entry is not None else None
        self.draft_path: str | None = None
        self.draft_box = QCheckBox()
        self.draft_box.setObjectName("downloadDraft")
        self.with_draft = self.draft is not None  # read on the worker thread
        if self.draft is not None:
            self.draft_box.setText(
                f"Also download {self.draft.label} (about {self.draft.download_gb:.1f} GB) "
                "as its draft model: faster answers"
            )
            self.draft_box.setChecked(True)
            self.draft_box.toggled.connect(lambda on: setattr(self, "with_draft", bool(on)))
        self.draft_box.setVisible(self.draft is not None)
        self.buttons = QDialogButtonBox()
        self.retry_button = QPushButton("Retry")
        self.cancel_button = QPushButton("Cancel")
        self.buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.retry_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        self.retry_button.hide()
        layout = QVBoxLayout(self)
        for w in (self.title, self.bar, self.figures, self.file_label, self.message, self.draft_box):
            layout.addWidget(w)
        layout.addWidget(self.buttons)
        if autostart:
            self.start()

    # -- commands ------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Plan and check the disk (worker thread), then download (worker thread)."""
        if self.state in ("planning", "downloading"):
            return
        self._cancel = CancelToken()
        self.error = None
        self.last_progress = None
        self.retry_button.hide()
        self.cancel_button.setText("Cancel")
        self.message.setText("Checking what to download and the free disk space…")
        self._set_state("planning")
        self._run(self._plan, self._on_planned)

    @Slot()
    def cancel_or_close(self) -> None:
        """Cancel a running download (it stops at the next chunk), else close the dialog."""
        if self.state in ("planning", "downloading"):
            self._cancel.cancel()
            self.cancel_button.setEnabled(False)
            self.message.setText("Cancelling…")
            return
        self.reject()

    def wait(self, ms: int = 30_000) -> bool:
        """Cancel and wait for the worker thread (for closing and tests); True when it has ended."""
        job = self._job
        if job is None:
            return True
        self._cancel.cancel()
        return job.wait(ms)

    def done(self, result: int) -> None:
        if self.state in ("planning", "downloading"):
            self._cancel.cancel()  # closing the dialog stops the download (it resumes later)
        super().done(result)

    # -- worker side ---------------------------------------------------------------------

    def _plan(self, job: BackgroundJob) -> DownloadPlan:
        from studio.models.download import check_disk, plan_download

        kw = {k: self.options.get(k) for k in ("endpoint", "cache_dir", "token", "revision")}
        plan = plan_download(self.repo, pattern=self.pattern, **kw)
        check_disk(plan, cache_dir=kw["cache_dir"])
        return plan

    def _download(self, job: BackgroundJob) -> str:
        from studio.models.download import download, download_entry

        kw = {k: self.options.get(k) for k in ("endpoint", "cache_dir", "token", "revision")}

        def progress(p: DownloadProgress) -> None:
            now = time.monotonic()
            with self._lock:
                due = now - self._last_emit >= PROGRESS_EVERY_S or p.done_bytes >= p.total_bytes
                if due:
                    self._last_emit = now
            if due:
                job.report(p)

        if self.entry is not None:
            path = download_entry(self.entry, progress=progress, cancel=self._cancel, **kw)
            if self.draft is not None and self.with_draft:
                draft = download_entry(self.draft, progress=progress, cancel=self._cancel, **kw)
                self.draft_path = str(draft)
        else:
            path = download(self.repo, pattern=self.pattern, progress=progress, cancel=self._cancel, **kw)
        return str(path)

    def _run(self, fn: Callable[[BackgroundJob], Any], on_done: Callable[[Any], None]) -> None:
        job = BackgroundJob(fn)
        job.succeeded.connect(on_done)
        job.errored.connect(self._on_error)
        job.reported.connect(self._on_progress)
        self._job = job
        job.start_job()

    # -- GUI side ------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.state = state
        log.debug("download %s: %s", self.repo, state)

    @Slot(object)
    def _on_planned(self, plan: DownloadPlan) -> None:
        if self._cancel.cancelled:
            self._stopped_cancelled()
            return
        note = f"{human_bytes(plan.needed_bytes)} to download"
        if plan.present_bytes:
            note += f" ({human_bytes(plan.present_bytes)} of {human_bytes(plan.total_bytes)} already here)"
        self.message.setText(note + ".")
        self._set_state("downloading")
        self._run(self._download, self._on_downloaded)

    @Slot(object)
    def _on_progress(self, p: DownloadProgress) -> None:
        if self.state != "downloading":
            return
        self.last_progress = p
        fraction = p.fraction if p.total_bytes else 0.0
        self.bar.setValue(round(fraction * self.bar.maximum()))
        self.figures.setText(format_progress(p))
        if p.file:
            self.file_label.setText(
                f"{p.file} · file {min(p.files_done + 1, p.files_total)} of {p.files_total}"
            )

    @Slot(object)
    def _on_downloaded(self, path: str) -> None:
        self.path = path
        self._set_state("done")
        self.bar.setValue(self.bar.maximum())
        self.message.setText(f"Downloaded to {path}")
        self.cancel_button.setText("Close")
        self.cancel_button.setEnabled(True)
        self.downloaded.emit(path)
        self.accept()

    def _stopped_cancelled(self) -> None:
        self._set_state("cancelled")
        self.error = "cancelled"
        self.message.setText(
            "Cancelled — the files fetched so far are kept; a later download resumes from there."
        )
        if (p := self.last_progress) is not None:
            self.figures.setText(f"{human_bytes(p.done_bytes)} of {human_bytes(p.total_bytes)} fetched")
        self._show_retry("Resume")
        self.failed.emit("cancelled")

    @Slot(object)
    def _on_error(self, exc: BaseException) -> None:
        from studio.models.download import DownloadCancelled

        if isinstance(exc, DownloadCancelled) or (self._cancel.cancelled and self.state == "planning"):
            self._stopped_cancelled()
            return
        if not _expected(exc):
            log.error("download of %s failed", self.repo, exc_info=exc)
        started = self.state == "downloading"
        self._set_state("error")
        self.error = one_line(exc)
        self.message.setText(f"{'Download failed' if started else 'Not started'}: {self.error}")
        self._show_retry("Retry")
        self.failed.emit(self.error)

    def _show_retry(self, text: str) -> None:
        self.retry_button.setText(text)
        self.retry_button.show()
        self.cancel_button.setText("Close")
        self.cancel_button.setEnabled(True)


def _expected(exc: BaseException) -> bool:
    """Errors the download code raises on purpose (logged quietly); others are bugs."""
    from studio.engine.base import EngineError

    return isinstance(exc, (EngineError, OSError))


def download_for(entry: Entry, options: dict[str, Any] | None, parent: QWidget | None) -> DownloadDialog:
    """Open a window-modal download dialog for a catalog entry (it starts at once)."""
    dialog = DownloadDialog(entry=entry, options=options, parent=parent)
    dialog.open()
    return dialog


__all__ = [
    "BackgroundJob",
    "DownloadDialog",
    "download_for",
    "format_progress",
    "human_bytes",
    "human_eta",
    "one_line",
]
