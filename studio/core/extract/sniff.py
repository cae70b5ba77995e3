"""Per-line features of a code block and the language sniffed from them.

The fence's language tag is only a hint: models tag HTML as ``php`` or ``css`` and TSX as
``typescript``. Each content line is looked at once, when it completes, and folded into a
:class:`Features` record; :func:`sniff` then names the language from those features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEAD_CHARS = 800
"""How much of a block's start is kept for sniffing."""

TAG_ALIASES = {
    "javascript": "js",
    "mjs": "js",
    "node": "js",
    "typescript": "ts",
    "htm": "html",
    "xhtml": "html",
    "xml": "html",
    "vue": "html",
    "py": "python",
    "python3": "python",
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "console": "bash",
    "scss": "css",
}

CODE_LANGS = frozenset({"html", "css", "js", "ts", "jsx", "tsx", "svg"})
"""Languages in which a fence line is never valid content (a stray line is dropped)."""

_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_LINK_RE = re.compile(r"<link\b[^>]*>", re.I)
_HREF_RE = re.compile(r"""\bhref\s*=\s*["']([^"']+)["']""", re.I)
_SCRIPT_SRC_RE = re.compile(r"""<script\b([^>]*?)\bsrc\s*=\s*["']([^"']+)["']([^>]*)>\s*</script\s*>""", re.I)
_REACT_IMPORT_RE = re.compile(r"""(?:from\s*|require\(\s*|import\s*)["']react(?:-dom)?(?:/[\w/-]*)?["']""")
_EXPORT_DEFAULT_RE = re.compile(r"\bexport\s+default\b")
_JSX_RE = re.compile(r"<[A-Z][\w.]*[\s/>]|<>|</[a-zA-Z][\w.]*>\s*\)?;?\s*$|\bclassName=|^\s*return\s*\(\s*$")
_TS_RE = re.compile(
    r"\binterface\s+\w+\s*\{|:\s*React\.\w+|\buse\w+<[\w\[\]|' ]+>\(|\):\s*\w+(?:\[\])?\s*=>|\btype\s+\w+\s*="
)
_JS_RE = re.compile(
    r"\b(?:function\s*\w*\s*\(|const\s+\w|let\s+\w|var\s+\w|class\s+\w+|document\.|window\.|=>|console\.)"
)
_BROWSER_RE = re.compile(
    r"\b(?:document\.|window\.|getContext\(|requestAnimationFrame|addEventListener|alert\(|new\s+Image\()"
)
_NODE_RE = re.compile(
    r"""\brequire\(\s*["']|\bprocess\.(?:env|argv|exit)|\bmodule\.exports\b|from\s+["'](?:express|fs|path|http)["']"""
)
_PY_RE = re.compile(
    r"^\s*(?:def\s+\w+\s*\(.*\)\s*(?:->.*)?:\s*$|from\s+[\w.]+\s+import\s|import\s+[\w.]+\s*$|print\(|if\s+__name__)"
)
_CSS_DECL_RE = re.compile(r"^\s*-{0,2}[a-zA-Z][\w-]*\s*:\s*[^;{}]*;\s*(?:/\*.*\*/)?\s*$")
_CSS_SELECTOR_RE = re.compile(r"^\s*[A-Za-z.#*:\[@][^{};=()]*(?:\([^{};=]*\))?[^{};=]*\{\s*(?:/\*.*)?$")
# A whole rule on one line: "body { margin: 0; color: #fff; }" (selector and declarations at once).
_CSS_RULE_RE = re.compile(
    r"^\s*[A-Za-z.#*:\[][^{};=()]*(?:\([^{};=]*\))?[^{};=]*\{\s*(?:-{0,2}[a-zA-Z][\w-]*\s*:\s*[^;{}]*;?\s*)+\}\s*$"
)
_ID_RE = re.compile(r"""getElementById\(\s*["']([\w-]+)["']\s*\)|querySelector\(\s*["']#([\w-]+)["']\s*\)""")
_FILENAME_RE = re.compile(r"[\w./-]*?([\w-]+\.(?:css|js|mjs|jsx|tsx|ts|html?))\b", re.I)
_COMMENT_LEAD_RE = re.compile(r"^\s*(?:<!--.*?-->\s*)+", re.S)


@dataclass(slots=True)
class Features:
    """What the completed lines of one block showed so far (absolute offsets in the answer)."""

    head: str = ""
    doc_line: bool = False
    html_close: int = -1
    head_open_end: int = -1
    head_close: int = -1
    body_close: int = -1
    html_open_end: int = -1
    title: str | None = None
    links: list[tuple[int, int, str]] = field(default_factory=list)
    scripts: list[tuple[int, int, str, str]] = field(default_factory=list)
    react_import: bool = False
    export_default: bool = False
    jsx: bool = False
    ts: bool = False
    js: int = 0
    browser: bool = False
    node: bool = False
    py: int = 0
    css_decl: int = 0
    css_sel: int = 0
    ids: list[str] = field(default_factory=list)
    file_name: str = ""


def scan_line(f: Features, line: str, at: int) -> None:
    """Fold one content line (without its newline) into the features.

    Args:
        f: the block's features, updated in place.
        line: the line's text.
        at: the absolute offset of ``line[0]`` in the answer.
    """
    if len(f.head) < HEAD_CHARS and (f.head or line.strip()):
        if not f.head:
            name = filename_in(line) if line.lstrip().startswith(("//", "/*", "<!--", "#")) else ""
            f.file_name = f.file_name or name
        f.head += line + "\n"
    if "<" in line:
        _scan_markup(f, line, at)
    if "react" in line and _REACT_IMPORT_RE.search(line):
        f.react_import = True
    if "export" in line and _EXPORT_DEFAULT_RE.search(line):
        f.export_default = True
    if not f.jsx and _JSX_RE.search(line):
        f.jsx = True
    if not f.ts and _TS_RE.search(line):
        f.ts = True
    if _JS_RE.search(line):
        f.js += 1
    if not f.browser and _BROWSER_RE.search(line):
        f.browser = True
    if not f.node and _NODE_RE.search(line):
        f.node = True
    if _PY_RE.search(line):
        f.py += 1
    if ":" in line and _CSS_DECL_RE.match(line):
        f.css_decl += 1
    elif "{" in line and _CSS_SELECTOR_RE.match(line):
        f.css_sel += 1
    elif "}" in line and _CSS_RULE_RE.match(line):
        f.css_sel += 1
        f.css_decl += 1
    if "#" in line or "ById" in line:
        for m in _ID_RE.finditer(line):
            ident = m.group(1) or m.group(2)
            if ident not in f.ids:
                f.ids.append(ident)


def _scan_markup(f: Features, line: str, at: int) -> None:
    low = line.lower()
    stripped = low.lstrip()
    if stripped.startswith(("<!doctype html", "<html")) and (
        len(stripped) < 6 or stripped.startswith("<!doctype") or stripped[5] in " >\t"
    ):
        f.doc_line = True
    if f.html_open_end < 0 and (i := low.find("<html")) >= 0 and (j := low.find(">", i)) >= 0:
        f.html_open_end = at + j + 1
    if f.head_open_end < 0 and (i := low.find("<head")) >= 0 and low[i + 5 : i + 6] in (">", " ", "\t"):
        j = low.find(">", i)
        if j >= 0:
            f.head_open_end = at + j + 1
    if f.head_close < 0 and (i := low.find("</head>")) >= 0:
        f.head_close = at + i
    if (i := low.rfind("</body>")) >= 0:
        f.body_close = at + i
    if (i := low.rfind("</html>")) >= 0:
        f.html_close = at + i + len("</html>")
    if f.title is None and "<title" in low and (m := _TITLE_RE.search(line)):
        f.title = m.group(1).strip()
    if "<link" in low:
        for m in _LINK_RE.finditer(line):
            tag = m.group(0)
            href = _HREF_RE.search(tag)
            if href and "stylesheet" in tag.lower():
                f.links.append((at + m.start(), at + m.end(), href.group(1)))
    if "<script" in low and "src" in low:
        for m in _SCRIPT_SRC_RE.finditer(line):
            attrs = (m.group(1) + m.group(3)).strip()
            f.scripts.append((at + m.start(), at + m.end(), m.group(2), attrs))


def filename_in(text: str) -> str:
    """The last file name (``styles.css``) written in a line of text, or ''."""
    names = _FILENAME_RE.findall(text)
    return names[-1].lower() if names else ""


def is_local_ref(url: str) -> bool:
    """True for a relative URL that may name a block of the answer."""
    low = url.strip().lower()
    return not (low.startswith(("http:", "https:", "//", "data:", "blob:")) or "://" in low)


def sniff(tag: str, f: Features) -> str:
    """Name a block's language from its content, using the tag only to break ties.

    Args:
        tag: the fence's info string as written.
        f: the block's features.

    Returns:
        "html", "svg", "jsx", "tsx", "css", "js", "ts", "python", a normalized tag, or "text".
    """
    word = tag.strip().split(maxsplit=1)[0].lower() if tag.strip() else ""
    word = TAG_ALIASES.get(word, word)
    head = _COMMENT_LEAD_RE.sub("", f.head).lstrip()
    low = head[:200].lower()
    if f.doc_line or low.startswith(("<!doctype html", "<html")):
        return "html"
    if low.startswith("<svg") or (low.startswith("<?xml") and "<svg" in low):
        return "svg"
    if f.react_import or (f.export_default and f.jsx) or (word in ("jsx", "tsx") and f.jsx):
        return "tsx" if (f.ts or word in ("ts", "tsx")) else "jsx"
    if low.startswith("<") and not low.startswith(("<?php", "<%", "<?")) and word not in ("php", "xml"):
        return "html"
    if low.startswith("<") and word == "php" and "<?php" not in low:
        return "html"
    if f.py and f.py >= f.js and word in ("", "python", "text"):
        return "python"
    if word == "python":
        return "python"
    css_like = f.css_sel > 0 and f.css_decl > 0 and f.css_decl + f.css_sel > f.js
    if css_like and word in ("", "css", "text", "php", "less", "sass"):
        return "css"
    if word in ("js", "ts", "jsx", "tsx") or (f.js and word in ("", "text")):
        return "ts" if word in ("ts", "tsx") and f.ts else "js"
    if css_like:
        return "css"
    return word or "text"
