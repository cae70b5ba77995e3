"""``artifacts-studio check FILE.html``: load a page in the sandbox headless and report problems.

Exit 0: loaded with no error; 1: JS errors, hung, blank or not loaded; 2: bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from studio.cli.common import EXIT_BAD_INPUT, err
from studio.web.checker import BadInput, check_file, exit_code, summary


def check_main(args: argparse.Namespace) -> int:
    """The ``check`` command: args has .file, .screenshot, .wait_ms, .json."""
    path = Path(args.file)
    shot = Path(args.screenshot) if getattr(args, "screenshot", None) else None
    wait_ms = getattr(args, "wait_ms", None)
    try:
        report = check_file(path, wait_ms=1500 if wait_ms is None else int(wait_ms), screenshot=shot)
    except BadInput as exc:
        err(str(exc), "artifacts-studio check")
        return EXIT_BAD_INPUT
    if getattr(args, "json", False):
        print(json.dumps(report, indent=2))
    else:
        print(summary(path, report))
    return exit_code(report)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``check`` to the command line's sub-parsers."""
    chk = sub.add_parser("check", help="load an HTML file in the sandbox headless and report problems")
    chk.add_argument("file", help="the .html file")
    chk.add_argument("--screenshot", default=None, metavar="PNG", help="save what rendered")
    chk.add_argument("--wait-ms", type=int, default=1500, help="how long to let it run (default 1500)")
    chk.add_argument("--json", action="store_true", help="print the report as JSON")
    return chk


__all__ = ["add_parser", "check_main"]
