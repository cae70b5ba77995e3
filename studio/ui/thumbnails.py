"""Thumbnails of artifact versions: taken when a final render settles, kept in the library.

Only the grab happens on the GUI thread (a widget can only be grabbed there); scaling, the one-colour
check and the PNG encoding run on the library's writer thread, which also writes the row. Decoding
thumbnails for the version bar runs there too. Results come back as queued signals.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from studio.ui.versionbar import THUMB_SIZE

if TYPE_CHECKING:
    from concurrent.futures import Future

    from studio.core.session import ChatSession
    from studio.store.library import Library
    from studio.ui.artifactpane import ArtifactPane
    from studio.ui.storebridge import StoreBridge

log = logging.getLogger(__name__)

THUMB_WIDTH, THUMB_HEIGHT = 320, 200  # the stored size (at most; the aspect ratio is kept)
SETTLE_MS = 700  # a final render is grabbed this long after it came on screen (fonts, first frames)
BLANK_RETRIES = 8  # a grab of one colour (not painted yet, under load) is taken again this often,
BLANK_BACKOFF_MAX_MS = 5000  # each wait twice the one before, at most this: about 27 s in all


def encode_thumbnail(
    image: QImage, width: int = THUMB_WIDTH, height: int = THUMB_HEIGHT
) -> tuple[bytes, int, int] | None:
    """Crop a grab to the thumbnail's shape (its top), scale it down and encode it as PNG.

    Safe on any thread (QImage only).

    Returns:
        (png, width, height), or None for an empty grab or one of a single colour (a page not painted yet).
    """
    if image.isNull() or image.width() == 0 or image.height() == 0:
        return None
    # The top of the page at the thumbnail's aspect ratio (a tall pane would give a narrow sliver).
    crop_h = min(image.height(), max(1, image.width() * height // width))
    crop_w = (
        min(image.width(), max(1, image.height() * width // height))
        if crop_h == image.height()
        else image.width()
    )
    image = image.copy(0, 0, crop_w, crop_h)
    small = image.scaled(
        width, height, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    ).convertToFormat(QImage.Format.Format_RGB32)
    pixels = bytes(small.constBits())  # 4 bytes a pixel: no padding at the end of a line
    if pixels == pixels[:4] * (len(pixels) // 4):
        return None
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not small.save(buffer, "PNG"):  # type: ignore[call-overload]  # (bytes is refused at run time)
        return None
    buffer.close()
    return bytes(data.data()), small.width(), small.height()


def decode_thumbnail(png: bytes) -> QImage:
    """A stored thumbnail as an image (safe on any thread; a null image for broken bytes)."""
    image = QImage()
    image.loadFromData(png, "PNG")
    return image


class ThumbnailTaker(QObject):
    """Grabs the version on screen once its final render settles and stores it, once per version.

    It also keeps the version bar's thumbnails (:meth:`VersionBar.set_thumbnails`) up to date.

    Args:
        pane: the artifact pane (its ``rendered`` signal, its grab).
        session: the chat on screen (which version is shown).
        store: the library (reads on the GUI thread, encoding and writes on its writer thread).
        parent: the Qt parent.

    Signals:
        thumbnailSaved(str, str, int): artifact id, version id and number of a thumbnail now stored.
        stripLoaded(str): the version bar got the thumbnails of this artifact.
    """

    thumbnailSaved = Signal(str, str, int)
    stripLoaded = Signal(str)
    _encoded = Signal(str, str, int, bool)  # from the writer thread
    _decoded = Signal(str, object)  # from the writer thread (a dict: int keys do not survive a QVariantMap)

    def __init__(
        self, pane: ArtifactPane, session: ChatSession, store: StoreBridge, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.pane, self.s, self.store = pane, session, store
        self._pending: set[str] = set()
        self._blank: dict[str, int] = {}  # version id -> grabs refused as blank so far
        self._strip_key: tuple[str, int] | None = None
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(self.capture)
        pane.rendered.connect(self._on_rendered)
        self._encoded.connect(self._on_encoded)
        self._decoded.connect(self._on_decoded)

    @Slot(str, bool)
    def _on_rendered(self, artifact_id: str, final: bool) -> None:
        if final:
            self._timer.start(SETTLE_MS)

    def _shown(self) -> tuple[str, str, int] | None:
        """(artifact id, version id, number) of the stored version on screen, else None."""
        shown = self.s.shown
        if shown is None or shown.number <= 0 or self.pane.current_html() != shown.html:
            return None
        aid = self.s.artifact_id
        try:
            version = self.store.library.version(aid, shown.number)
        except KeyError:
            return None
        return aid, version.id, version.number

    @Slot()
    def capture(self) -> bool:
        """Grab the version on screen now, unless it has a thumbnail already; True when one is on its way."""
        target = self._shown()
        if target is None:
            return False
        aid, vid, number = target
        self.refresh_strip(aid)
        preview_on_screen = self.pane.isVisible() and self.pane.tabs.currentIndex() == 0
        if vid in self._pending or not preview_on_screen or self.store.library.has_thumbnail(vid):
            return False
        image = self.pane.frame()  # the one step that must run on the GUI thread
        self._pending.add(vid)

        def encode_and_store(lib: Library) -> bool:
            encoded = encode_thumbnail(image)
            if encoded is None:
                return False
            lib.set_thumbnail(vid, *encoded)
            return True

        future = self.store.writer.submit(encode_and_store)
        future.add_done_callback(lambda f: self._report("_encoded", aid, vid, number, _ok(f)))
        return True

    def refresh_strip(self, artifact_id: str, *, force: bool = False) -> None:
        """Load the artifact's thumbnails for the version bar (off the GUI thread) when they changed."""
        key = (artifact_id, self.store.library.version_count(artifact_id))
        if key == self._strip_key and not force:
            return
        self._strip_key = key

        def load(
            lib: Library,
        ) -> dict[int, QImage]:  # decoded and scaled to the bar's size here, not on the GUI thread
            return {
                n: decode_thumbnail(png).scaled(
                    THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
                for n, png in lib.thumbnails(artifact_id).items()
            }

        future = self.store.writer.submit(load)
        future.add_done_callback(
            lambda f: self._report("_decoded", artifact_id, f.result() if f.exception() is None else {})
        )

    def _report(self, signal: str, *args: object) -> None:
        """Emit one of the private signals from the writer thread (queued to the GUI thread)."""
        try:
            getattr(self, signal).emit(*args)
        except RuntimeError:  # the taker is gone (the window closed)
            pass

    @Slot(str, str, int, bool)
    def _on_encoded(self, aid: str, vid: str, number: int, ok: bool) -> None:
        self._pending.discard(vid)
        if ok:
            log.debug("thumbnail of %s v%d stored", aid, number)
            self._blank.pop(vid, None)
            self.thumbnailSaved.emit(aid, vid, number)
            self.refresh_strip(aid, force=True)
            return
        self._blank[vid] = tries = self._blank.get(vid, 0) + 1
        if tries < BLANK_RETRIES and not self._timer.isActive():
            # the same version, if still on screen, is grabbed again, later each time (a loaded machine
            # can take seconds to paint a page)
            self._timer.start(min(SETTLE_MS << tries, BLANK_BACKOFF_MAX_MS))

    @Slot(str, object)
    def _on_decoded(self, aid: str, images: dict) -> None:
        if aid == self.s.artifact_id:
            self.pane.version_bar.set_thumbnails(images)
            self.stripLoaded.emit(aid)


def _ok(future: Future[bool]) -> bool:
    if future.exception() is not None:
        log.warning("could not store a thumbnail: %s", future.exception())
        return False
    return bool(future.result())


__all__ = ["SETTLE_MS", "ThumbnailTaker", "decode_thumbnail", "encode_thumbnail"]
