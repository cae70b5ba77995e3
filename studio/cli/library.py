"""The library on the command line: ``history``, ``export`` and the ``--save`` of ``generate``.

Exit codes follow :mod:`studio.cli.common`: 0 ok, 1 failure, 2 bad input (unknown conversation or version,
unwritable output, unusable library).
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.common import EXIT_BAD_INPUT, EXIT_NO_ARTIFACT, EXIT_OK, err
from studio.store.db import StoreError

if TYPE_CHECKING:  # imported where used: building the parser stays cheap (startup)
    from studio.core.attachments import Attachment
    from studio.core.extract.types import Artifact
    from studio.store.library import Library
    from studio.store.records import ArtifactVersion, StoredConversation
    from studio.store.writer import AnswerRecorder

log = logging.getLogger(__name__)


def open_library(data_dir: str | None) -> Library:
    """Open the library for a command; a recovery notice goes to stderr. Raises StoreError."""
    from studio.store.library import Library

    lib = Library.at(data_dir)
    if lib.recovery is not None:
        err(lib.recovery.message)
    if lib.interrupted_on_open:
        err(
            f"{lib.interrupted_on_open} answer(s) were cut off when the app stopped; they are marked interrupted"
        )
    return lib


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def history_main(args: argparse.Namespace) -> int:
    """``history [CONVERSATION] [--json]``: the conversations, or one conversation's current branch."""
    try:
        lib = open_library(getattr(args, "data_dir", None))
    except StoreError as exc:
        err(str(exc))
        return EXIT_BAD_INPUT
    with lib:
        if getattr(args, "conversation", None):
            return _show_conversation(lib, args.conversation, as_json=args.json)
        rows = lib.list_conversations()
        if args.json:
            print(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=1))
            return EXIT_OK
        if not rows:
            print(f"the library {lib.path} holds no conversations", file=sys.stderr)
            return EXIT_OK
        print(f"{'id':<12}  {'updated':<16}  {'msgs':>4}  {'vers':>4}  title")
        for r in rows:
            flag = "  [interrupted]" if r.interrupted else ""
            print(
                f"{r.id[:12]:<12}  {_when(r.updated):<16}  {r.messages:>4}  {r.artifacts:>4}  {r.title}{flag}"
            )
    return EXIT_OK


def _show_conversation(lib: Library, prefix: str, *, as_json: bool) -> int:
    try:
        conv = lib.load(lib.find_conversation(prefix))
    except KeyError as exc:
        err(str(exc.args[0]))
        return EXIT_BAD_INPUT
    branch = conv.path()
    versions = [v for aid in lib.artifacts(conv.id) for v in lib.versions(aid)]
    if as_json:
        out = {
            **lib.summary(conv.id).to_json(),
            "current_id": conv.current_id,
            "messages": [
                {
                    "id": m.id,
                    "parent_id": m.parent_id,
                    "role": m.role,
                    "content": m.content,
                    "state": m.state,
                    "finish_reason": m.finish_reason,
                    "error": m.error,
                    "siblings": len(conv.siblings(m.id)),
                    "attachments": [a.name for a in m.attachments],
                }
                for m in branch
            ],
            "versions": [
                {
                    "number": v.number,
                    "origin": v.origin,
                    "kind": v.kind,
                    "title": v.title,
                    "message_id": v.message_id,
                    "created": v.created,
                }
                for v in versions
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return EXIT_OK
    print(f"# {conv.title}  ({conv.id})")
    for m in branch:
        mark = " [interrupted]" if m.interrupted else ""
        print(f"\n## {m.role}{mark}\n{m.content}")
    for v in versions:
        print(f"\nv{v.number} ({v.origin}) {v.title}", file=sys.stderr)
    return EXIT_OK


def version_files(conv: StoredConversation, version: ArtifactVersion) -> dict[str, tuple[str, bytes]]:
    """The data files an artifact version may fetch: attachments on the branch up to its answer."""
    index = conv.by_id()
    cur = version.message_id if version.message_id in index else conv.current_id
    chain: list[Attachment] = []
    while cur is not None and cur in index:
        chain[:0] = index[cur].attachments
        cur = index[cur].parent_id
    return {a.name: (a.mime, a.data) for a in chain}


def export_main(args: argparse.Namespace) -> int:
    """``export --conversation ID [--version N] -o OUT.html``."""
    try:
        lib = open_library(getattr(args, "data_dir", None))
    except StoreError as exc:
        err(str(exc))
        return EXIT_BAD_INPUT
    with lib:
        try:
            cid = lib.find_conversation(args.conversation)
        except KeyError as exc:
            err(str(exc.args[0]))
            return EXIT_BAD_INPUT
        arts = lib.artifacts(cid)
        aid = cid if cid in arts else (arts[0] if arts else None)
        try:
            version = (
                None
                if aid is None
                else (lib.current_version(aid) if args.version is None else lib.version(aid, args.version))
            )
        except KeyError:
            err(
                f"conversation {cid[:12]} has no version {args.version} (it has {lib.version_count(aid or cid)})"
            )
            return EXIT_BAD_INPUT
        if version is None:
            err(f"conversation {cid[:12]} has no artifact")
            return EXIT_NO_ARTIFACT
        from studio.core.export import export_html
        from studio.core.standalone import standalone_html

        page = export_html(standalone_html(version.to_artifact()), version_files(lib.load(cid), version))
    try:
        Path(args.output).write_text(page, encoding="utf-8")
    except OSError as exc:
        err(f"{args.output}: cannot write ({exc.strerror or exc})")
        return EXIT_BAD_INPUT
    print(f"v{version.number} of {version.title!r} written to {args.output}", file=sys.stderr)
    return EXIT_OK


class GenerateSaver:
    """``generate --save``: the conversation goes into the library as it streams.

    Each turn adds the user message, then an answer that is written at least every second by a
    background writer, then finishes it and stores the artifact it holds as a new version.

    Args:
        data_dir: ``--data-dir`` (None: the environment variable or the per-user folder).
    """

    def __init__(self, data_dir: str | None = None) -> None:
        lib = open_library(data_dir)
        self.path = lib.path
        lib.close()
        from studio.store.writer import LibraryWriter

        self.writer = LibraryWriter(self.path)
        self.conversation_id: str | None = None
        self._parent: str | None = None
        self._answer: AnswerRecorder | None = None
        self.failed = False

    def _failed(self, exc: Exception) -> None:
        """A write failed (disk full, ...): say so once and go on generating without saving."""
        if not self.failed:
            err(f"cannot save to the library ({exc}); the answer is not being saved")
        self.failed, self._answer = True, None

    def begin_turn(self, prompt: str, attachments: Sequence[Attachment] = ()) -> None:
        """Store the user's turn and open a streaming answer after it."""
        if self.failed:
            return
        try:
            self._begin(prompt, attachments)
        except (sqlite3.Error, OSError, KeyError) as exc:
            self._failed(exc)

    def _begin(self, prompt: str, attachments: Sequence[Attachment]) -> None:
        if self.conversation_id is None:
            self.conversation_id = self.writer.submit(lambda lib: lib.create_conversation()).result()
        cid, parent = self.conversation_id, self._parent
        user = self.writer.submit(
            lambda lib: lib.add_message(cid, "user", prompt, parent_id=parent, attachments=attachments)
        ).result()
        self._answer = self.writer.begin_answer(cid, user.id)

    def append(self, text: str) -> None:
        """Add streamed text to the answer."""
        if self._answer is not None:
            self._answer.append(text)

    def end_turn(
        self,
        answer: str,
        finish_reason: str,
        error: str | None = None,
        stats: dict[str, Any] | None = None,
        *,
        made: tuple[Artifact | None, str] | None = None,
    ) -> None:
        """Finish the answer and store its artifact (if any) as a new version.

        Args:
            made: the artifact the answer made and its origin (e.g. a patched one, "patch"); default
                the artifact extracted from the answer, origin "model".
        """
        try:
            self._end(answer, finish_reason, error, stats, made)
        except (sqlite3.Error, OSError, KeyError) as exc:
            self._failed(exc)

    def _end(
        self,
        answer: str,
        finish_reason: str,
        error: str | None,
        stats: dict[str, Any] | None,
        made: tuple[Artifact | None, str] | None,
    ) -> None:
        rec, cid = self._answer, self.conversation_id
        if rec is None or cid is None:
            return
        rec.finish(finish_reason or "stop", content=answer, error=error, stats=stats).result()
        self._parent, self._answer = rec.message_id, None
        if made is None:
            from studio.core.extract import extract

            made = (extract(answer).artifact, "model")
        art, origin = made
        if art is not None:
            mid = rec.message_id
            self.writer.submit(
                lambda lib: lib.add_version(
                    cid, kind=art.kind, title=art.title, source=art.source, origin=origin, message_id=mid
                )
            ).result()

    def close(self) -> None:
        """Write what is pending and stop the writer."""
        self.writer.close()
        if self.conversation_id:
            print(f"saved to the library as conversation {self.conversation_id}", file=sys.stderr)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> list[argparse.ArgumentParser]:
    """Add ``history`` and ``export`` to the command line's sub-parsers."""
    his = sub.add_parser("history", help="list the conversations in the library (or show one)")
    his.add_argument("conversation", nargs="?", default=None, help="show this conversation (id or id prefix)")
    his.add_argument("--json", action="store_true", help="print JSON")

    exp = sub.add_parser("export", help="write an artifact version from the library as one offline .html")
    exp.add_argument("--conversation", required=True, metavar="ID", help="the conversation (id or id prefix)")
    exp.add_argument(
        "--version", type=int, default=None, metavar="N", help="version number (default: current)"
    )
    exp.add_argument("-o", "--output", required=True, metavar="OUT.html", help="where to write the page")
    return [his, exp]


__all__ = [
    "GenerateSaver",
    "add_parsers",
    "export_main",
    "history_main",
    "open_library",
    "version_files",
]
