"""``artifacts-studio extract``: the artifact of a saved answer, as a standalone HTML file (no Qt)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from studio.cli.common import EXIT_BAD_INPUT, EXIT_NO_ARTIFACT, EXIT_OK, err

if TYPE_CHECKING:  # imported where used: building the parser stays cheap (startup)
    from studio.core.extract import Extraction


def _read_text(source: str, stdin: TextIO) -> str:
    if source == "-":
        return stdin.read()
    data = Path(source).read_bytes()
    return data.decode("utf-8")


def extract_main(args: argparse.Namespace) -> int:
    """``extract ANSWER.md [-o OUT.html] [--json]``."""
    try:
        text = _read_text(args.answer, sys.stdin)
    except FileNotFoundError:
        err(f"{args.answer}: no such file")
        return EXIT_BAD_INPUT
    except IsADirectoryError:
        err(f"{args.answer}: is a folder, not an answer file")
        return EXIT_BAD_INPUT
    except UnicodeDecodeError:
        err(f"{args.answer}: not UTF-8 text")
        return EXIT_BAD_INPUT
    except OSError as exc:
        err(f"{args.answer}: cannot be read ({exc.strerror or exc})")
        return EXIT_BAD_INPUT
    from studio.core.extract import extract

    result = extract(text)
    return emit_artifact(result, args.output, as_json=args.json, html_to_stdout=not args.json)


def emit_artifact(result: Extraction, output: str | None, *, as_json: bool, html_to_stdout: bool) -> int:
    """Write (or print) the artifact of ``result`` as one HTML page; returns the exit code."""
    from studio.core.standalone import standalone_html

    art = result.artifact
    if art is None:
        err(f"no artifact: {result.reason}")
        if as_json:
            print(json.dumps({"kind": None, "reason": result.reason}))
        return EXIT_NO_ARTIFACT
    html = standalone_html(art)
    if art.truncated:
        err("warning: the answer was cut off inside the artifact; writing the partial artifact")
    if output:
        try:
            Path(output).write_text(html, encoding="utf-8")
        except OSError as exc:
            err(f"{output}: cannot write ({exc.strerror or exc})")
            return EXIT_BAD_INPUT
    elif html_to_stdout:
        sys.stdout.write(html)
        sys.stdout.flush()
    if as_json:
        info = art.to_json()
        if output:
            info["output"] = output
        print(json.dumps(info, ensure_ascii=False))
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``extract`` to the command line's sub-parsers."""
    ext = sub.add_parser("extract", help="the artifact of a saved answer, as a standalone HTML file")
    ext.add_argument("answer", help="a markdown answer file ('-' reads stdin)")
    ext.add_argument("-o", "--output", default=None, help="write the HTML here (default: stdout)")
    ext.add_argument("--json", action="store_true", help="print {kind, title, truncated, blocks}")
    return ext


__all__ = ["add_parser", "emit_artifact", "extract_main"]
