"""No module of the app speaks HTTP by hand: httpx2 (which huggingface_hub brings) does it."""

from __future__ import annotations

import ast
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[2] / "studio"
BANNED = {"http.client", "urllib.request"}


def banned_imports(source: str) -> list[str]:
    """The banned modules ``source`` imports (any import form, or by name through importlib)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name in BANNED or a.name.startswith("http.client.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [n for n in names if n in BANNED]
        elif isinstance(node, ast.Constant) and node.value in BANNED:  # importlib.import_module("...")
            found.append(str(node.value))
    return found


def test_the_checker_sees_every_import_form() -> None:
    for line in (
        "import http.client",
        "import urllib.request as r",
        "from http import client",
        "from urllib.request import urlopen",
        "import importlib\nimportlib.import_module('http.client')",
        "def f():\n    from http.client import HTTPConnection",
    ):
        assert banned_imports(line), line
    assert banned_imports("import http\nimport urllib.parse\nfrom urllib.parse import urlsplit") == []


def test_no_module_in_studio_imports_http_client_or_urllib_request() -> None:
    files = sorted(STUDIO.rglob("*.py"))
    assert len(files) > 50
    offenders = {
        str(p.relative_to(STUDIO.parent)): hits
        for p in files
        if (hits := banned_imports(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}
