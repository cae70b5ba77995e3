"""Files given to a chat turn: dropped on the window or passed with ``--attach``.

Every file is untrusted: it may be huge, binary, malformed or unreadable. Each refusal is an
:class:`AttachmentError` whose text is one line a user can act on. Accepted files become an
:class:`Attachment` that carries the raw bytes (served to the artifact as ``data/<name>``) and the
text the model sees (large tables are summarized: header, first rows, row count).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

AttachmentKind = Literal["text", "table", "json", "image"]

MAX_FILE_BYTES = 20 * 1024 * 1024
"""The largest file accepted at all (its bytes are kept and served to the artifact)."""
MAX_PROMPT_CHARS = 24_000
"""The most characters of one file put into the prompt (about 6-8k tokens)."""
TABLE_HEAD_ROWS = 20
MAX_IMAGE_BYTES = 8 * 1024 * 1024

TEXT_SUFFIXES = frozenset(
    ".txt .md .markdown .rst .html .htm .css .js .mjs .cjs .jsx .ts .tsx .py .json .svg .xml .yaml .yml "
    ".toml .ini .cfg .conf .sh .bash .zsh .c .h .cc .cpp .hpp .rs .go .java .kt .swift .rb .php .sql .lua "
    ".r .jl .scala .dart .vue .svelte .log .csv .tsv .env .gitignore .dockerfile .makefile .tex .ipynb".split()
)
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class AttachmentError(ValueError):
    """A file that cannot be attached; ``str(error)`` is a one-line reason naming the file."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """One accepted file.

    Attributes:
        name: a URL- and filename-safe name (``data/<name>`` for the artifact).
        size: size in bytes.
        kind: text, table (CSV/TSV), json or image.
        mime: the MIME type the artifact scheme serves it with.
        data: the raw bytes.
        prompt_text: what the model sees for this file.
    """

    name: str
    size: int
    kind: AttachmentKind
    mime: str
    data: bytes
    prompt_text: str


def human_size(n: int) -> str:
    """``1536 -> '1.5 KB'``."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def safe_name(name: str) -> str:
    """A name safe in a URL path and a file name: ``'my data (1).csv' -> 'my_data_1_.csv'``."""
    cleaned = _SAFE_NAME.sub("_", name).strip("._") or "file"
    return cleaned[:100]


def load_attachment(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> Attachment:
    """Read one file into an :class:`Attachment`.

    Raises:
        AttachmentError: missing, a folder, unreadable, too large, binary or not valid text.
    """
    p = Path(path)
    label = p.name or str(p)
    try:
        if not p.exists():
            raise AttachmentError(f"{label}: no such file")
        if p.is_dir():
            raise AttachmentError(f"{label}: is a folder; drop files, not folders")
        size = p.stat().st_size
        if size > max_bytes:
            raise AttachmentError(
                f"{label}: {human_size(size)} is too large (the limit is {human_size(max_bytes)})"
            )
        data = p.read_bytes()
    except PermissionError:
        raise AttachmentError(f"{label}: permission denied") from None
    except OSError as exc:
        raise AttachmentError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    return attachment_from_bytes(label, data)


def attachment_from_bytes(name: str, data: bytes) -> Attachment:
    """Classify and describe bytes that came from a file called ``name``."""
    suffix = Path(name).suffix.lower()
    fname = safe_name(name)
    if suffix in IMAGE_TYPES or data.startswith(IMAGE_MAGIC):
        return _image(name, fname, suffix, data)
    if not data:
        raise AttachmentError(f"{name}: the file is empty")
    if b"\x00" in data[:8192]:
        raise AttachmentError(f"{name}: looks like a binary file; attach text, code, CSV, JSON or images")
    text = _decode(name, data)
    if suffix in (".csv", ".tsv"):
        return Attachment(
            fname,
            len(data),
            "table",
            "text/csv" if suffix == ".csv" else "text/tab-separated-values",
            data,
            _table_prompt(fname, text, "\t" if suffix == ".tsv" else ","),
        )
    if suffix == ".json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AttachmentError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        return Attachment(
            fname, len(data), "json", "application/json", data, _json_prompt(fname, text, value)
        )
    if suffix and suffix not in TEXT_SUFFIXES and _looks_binary(text):
        raise AttachmentError(f"{name}: unsupported file type {suffix}")
    mime = mimetypes.guess_type(fname)[0] or "text/plain"
    return Attachment(fname, len(data), "text", mime, data, _text_prompt(fname, text))


def _decode(name: str, data: bytes) -> str:
    for enc in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise AttachmentError(f"{name}: not UTF-8 text and not a supported binary format") from None
    if _looks_binary(text):
        raise AttachmentError(f"{name}: looks like a binary file; attach text, code, CSV, JSON or images")
    return text


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    return controls / len(sample) > 0.05


def _image(name: str, fname: str, suffix: str, data: bytes) -> Attachment:
    if len(data) > MAX_IMAGE_BYTES:
        raise AttachmentError(
            f"{name}: image of {human_size(len(data))} is too large (limit {human_size(MAX_IMAGE_BYTES)})"
        )
    if not data.startswith(IMAGE_MAGIC) and not data[8:12] == b"WEBP":
        raise AttachmentError(f"{name}: not a valid image file")
    mime = IMAGE_TYPES.get(suffix, "image/png")
    prompt = (
        f"Image file `{fname}` ({human_size(len(data))}, {mime}). The artifact can load it as "
        f'`data/{fname}` (for example `<img src="data/{fname}">`).'
    )
    return Attachment(fname, len(data), "image", mime, data, prompt)


def _clip(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit], True


def _text_prompt(fname: str, text: str) -> str:
    # Code and prose cannot be summarized safely: too long for the context means refused.
    if len(text) > MAX_PROMPT_CHARS:
        raise AttachmentError(
            f"{fname}: {len(text):,} characters is too long for the model's context "
            f"(the limit is {MAX_PROMPT_CHARS:,}); attach a smaller file or an excerpt"
        )
    lang = Path(fname).suffix.lstrip(".")
    return f"File `{fname}`:\n```{lang}\n{text}\n```"


def _table_prompt(fname: str, text: str, delimiter: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise AttachmentError(f"{fname}: malformed table ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise AttachmentError(f"{fname}: the table has no rows")
    header, data_rows = rows[0], rows[1:]
    head = "\n".join(delimiter.join(r) for r in rows[: TABLE_HEAD_ROWS + 1])
    head, _ = _clip(head, MAX_PROMPT_CHARS)
    shown = min(len(data_rows), TABLE_HEAD_ROWS)
    return (
        f"Table file `{fname}`: {len(data_rows)} data rows, {len(header)} columns "
        f"({', '.join(h.strip() for h in header)[:400]}). The artifact must load the real data with "
        f'`fetch("data/{fname}")` and parse it, not retype it. First {shown} rows:\n```csv\n{head}\n```'
    )


def _json_prompt(fname: str, text: str, value: object) -> str:
    shape = (
        f"a list of {len(value)} items"
        if isinstance(value, list)
        else (
            f"an object with keys {', '.join(list(value)[:20])}"
            if isinstance(value, dict)
            else type(value).__name__
        )
    )
    body, clipped = _clip(text, MAX_PROMPT_CHARS // 2)
    note = " (start shown)" if clipped else ""
    return (
        f'JSON file `{fname}`: {shape}. The artifact can load it with `fetch("data/{fname}")` '
        f"and `.json()`.{note}\n```json\n{body}\n```"
    )


def compose_user_message(text: str, attachments: Sequence[Attachment] = ()) -> str:
    """The user turn as the model sees it: the files first, then the request."""
    if not attachments:
        return text
    parts = [a.prompt_text for a in attachments]
    parts.append(text)
    return "\n\n".join(parts)
