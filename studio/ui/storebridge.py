"""The window's link to the library: reads on the GUI thread, every write through the LibraryWriter.

Writes that the GUI must see at once (a version's number, a rename) wait for their Future; they are
single-row transactions. A streaming answer only buffers text on the GUI thread: the writer thread
writes it every ``FLUSH_INTERVAL_S`` (0.5 s), so a kill loses at most that much.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from studio.core.extract.types import fence_for
from studio.store.library import Library
from studio.store.records import ArtifactVersion, StoredConversation
from studio.store.writer import AnswerRecorder, LibraryWriter

if TYPE_CHECKING:
    from studio.core.conversation import Conversation, Message

log = logging.getLogger(__name__)

ORIGIN_PHRASE = {
    "edit": "edited by the user",
    "restore": "restored by the user from an earlier version",
    "autofix": "fixed automatically after errors",
    "patch": "after your edits were applied",
    "model": "an earlier version the user went back to",
}


def context_preamble(version: ArtifactVersion) -> str:
    """The text put before the next user turn so the model edits what the user has now."""
    phrase = ORIGIN_PHRASE.get(version.origin, version.origin)
    fence = fence_for(version.kind)
    return f"The current version of the artifact ({phrase}):\n```{fence}\n{version.source}\n```\n\n"


class StoreBridge:
    """Library reads and writer writes for one window.

    Args:
        library: the GUI thread's library (reads, and opened/checked/migrated already).
        writer: the writer thread; made here (and closed by :meth:`close`) when None.
    """

    def __init__(self, library: Library, writer: LibraryWriter | None = None) -> None:
        self.library = library
        self._own_writer = writer is None
        self.writer = writer or LibraryWriter(library.path)
        self._stored: set[str] = set()

    def close(self) -> None:
        """Write what is queued; close the writer if this bridge made it."""
        if self._own_writer:
            self.writer.close()
        else:
            self.writer.flush()

    # -- conversations -------------------------------------------------------------------

    def exists(self, cid: str) -> bool:
        if cid in self._stored:
            return True
        try:
            self.library.summary(cid)
        except KeyError:
            return False
        self._stored.add(cid)
        return True

    def ensure(self, conv: Conversation) -> None:
        """Store the conversation row the first time something is written to it."""
        cid = conv.id
        if not self.exists(cid):
            self._stored.add(cid)
            self.writer.submit(lambda lib: lib.create_conversation(conversation_id=cid)).result()

    def add_message(self, conv: Conversation, msg: Message) -> None:
        """Store a user turn (waits: it is one small row, and the sidebar shows its title)."""
        self.ensure(conv)
        cid = conv.id
        self.writer.submit(
            lambda lib: lib.add_message(
                cid,
                msg.role,
                msg.content,
                parent_id=msg.parent_id,
                message_id=msg.id,
                attachments=msg.attachments,
            )
        ).result()

    def begin_answer(self, conv: Conversation, msg: Message) -> AnswerRecorder:
        """Start storing a streaming answer (does not block)."""
        self.ensure(conv)
        return self.writer.begin_answer(conv.id, msg.parent_id, message_id=msg.id)

    def set_current(self, cid: str, leaf_id: str | None) -> None:
        if leaf_id is not None and self.exists(cid):
            self.writer.submit(lambda lib: lib.set_current(cid, leaf_id))

    def load(self, cid: str) -> StoredConversation:
        """A whole conversation, after every queued write has landed."""
        self.writer.flush()
        return self.library.load(cid)

    def most_recent(self) -> str | None:
        rows = self.library.list_conversations(limit=1)
        return rows[0].id if rows else None

    # -- versions ------------------------------------------------------------------------

    def add_version(self, conv: Conversation, **kwargs: Any) -> ArtifactVersion:
        """Add a version (see ``Library.add_version``) and return it."""
        self.ensure(conv)
        cid = conv.id
        return self.writer.submit(lambda lib: lib.add_version(cid, **kwargs)).result()

    def set_console(self, version_id: str, entries: Iterable[Mapping[str, Any]]) -> None:
        items = [dict(e) for e in entries]
        self.writer.submit(lambda lib: lib.set_console(version_id, items))

    def restore(self, artifact_id: str, number: int) -> ArtifactVersion:
        return self.writer.submit(lambda lib: lib.restore_version(artifact_id, number)).result()

    def set_current_version(self, artifact_id: str, number: int) -> ArtifactVersion:
        return self.writer.submit(lambda lib: lib.set_current_version(artifact_id, number)).result()

    def versions(self, artifact_id: str) -> list[ArtifactVersion]:
        return self.library.versions(artifact_id)

    def current_version(self, artifact_id: str) -> ArtifactVersion | None:
        return self.library.current_version(artifact_id)

    def context_version(self, artifact_id: str, last_answer_id: str | None) -> ArtifactVersion | None:
        return self.library.context_version(artifact_id, last_answer_id)
