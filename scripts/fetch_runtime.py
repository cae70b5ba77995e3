#!/usr/bin/env python3
"""Fetch the offline runtime pack: pinned npm tarballs, verified, unpacked into resources/runtime/pack.

Usage::

    python scripts/fetch_runtime.py              # fetch what is missing, verify, unpack (idempotent)
    python scripts/fetch_runtime.py --verify     # also re-hash every unpacked file
    python scripts/fetch_runtime.py --update-manifest   # maintainers: recompute files, hashes, exports

Tarballs come from the npm registry through the ordinary client (``npm pack <name>@<version>``) into a
cache folder (``.cache/runtime`` or ``$STUDIO_RUNTIME_CACHE``). Every tarball must match the
manifest's sha512 integrity and every unpacked file its sha256; nothing unverified is written. Only
the Python standard library is used, so this runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "resources" / "runtime" / "manifest.json"
PACK = ROOT / "resources" / "runtime" / "pack"
STAMP = ".verified"
_IMPORT_RE = re.compile(r"""\b(?:import|export)\b\s*(?:[\w*${}\s,]*?\bfrom\s*)?(["'])([^"'\n]+)\1""")


class FetchError(RuntimeError):
    """A tarball could not be fetched or did not verify."""


def pkg_id(entry: dict) -> str:
    """``name@version`` of a manifest entry."""
    return f"{entry['name']}@{entry['version']}"


def tarball_name(entry: dict) -> str:
    """The file name ``npm pack`` gives the entry's tarball."""
    return f"{entry['name'].lstrip('@').replace('/', '-')}-{entry['version']}.tgz"


def sri_sha512(data: bytes) -> str:
    """Subresource-integrity form of a sha512 digest."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def stamp_text(entry: dict) -> str:
    """What the stamp of a verified unpack holds: the integrity and the file table's digest."""
    table = json.dumps(entry.get("files", {}), sort_keys=True).encode()
    return f"{entry.get('integrity', '')}\n{hashlib.sha256(table).hexdigest()}\n"


def npm_pack(entry: dict, cache: Path) -> Path:
    """Download the entry's tarball with ``npm pack`` into ``cache`` (when not already there)."""
    dest = cache / tarball_name(entry)
    if not dest.exists():
        npm_pack_all([entry], cache)
    return dest


def npm_pack_all(entries: list[dict], cache: Path) -> None:
    """Download the missing tarballs of ``entries`` with ONE ``npm pack`` call (much faster than one each)."""
    missing = [e for e in entries if not (cache / tarball_name(e)).exists()]
    if not missing:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is not installed: install Node.js (it ships npm) to fetch the runtime pack")
    cache.mkdir(parents=True, exist_ok=True)
    ids = [pkg_id(e) for e in missing]
    cmd = [npm, "pack", *ids, "--pack-destination", str(cache), "--silent"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"npm pack {' '.join(ids)} timed out (is the npm registry reachable?)") from exc
    absent = [pkg_id(e) for e in missing if not (cache / tarball_name(e)).exists()]
    if proc.returncode != 0 or absent:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(
            f"npm pack {' '.join(absent or ids)} failed (offline, or the registry is unreachable?): "
            + " | ".join(tail)
        )


def read_tarball(path: Path, entry: dict, check: bool = True) -> dict[str, bytes]:
    """All regular files of a verified tarball, keyed by path inside the package."""
    data = path.read_bytes()
    if check and sri_sha512(data) != entry["integrity"]:
        raise FetchError(f"{path.name}: sha512 integrity does not match the manifest (corrupt or tampered)")
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            name = member.name.split("/", 1)[1] if "/" in member.name else member.name
            handle = tar.extractfile(member)
            if handle is not None:
                out[name] = handle.read()
    return out


def unpack(entry: dict, cache: Path, pack: Path = PACK, verify: bool = False) -> tuple[bool, int]:
    """Make ``<pack>/<name>@<version>`` hold the entry's verified files.

    Returns:
        (whether anything was written, total bytes of the entry's files).
    """
    dest = pack / pkg_id(entry)
    stamp = dest / STAMP
    files: dict[str, str] = entry["files"]
    if stamp.exists() and stamp.read_text() == stamp_text(entry):
        present = all((dest / p).is_file() for p in files)
        if present and not verify:
            return False, sum((dest / p).stat().st_size for p in files)
        if present and all(
            hashlib.sha256((dest / p).read_bytes()).hexdigest() == h for p, h in files.items()
        ):
            return False, sum((dest / p).stat().st_size for p in files)
    content = read_tarball(npm_pack(entry, cache), entry)
    total = 0
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, digest in files.items():
        if rel not in content:
            raise FetchError(f"{pkg_id(entry)}: {rel} is not in the tarball")
        if hashlib.sha256(content[rel]).hexdigest() != digest:
            raise FetchError(f"{pkg_id(entry)}: {rel} does not match its sha256 in the manifest")
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content[rel])
        total += len(content[rel])
    (tmp / STAMP).write_text(stamp_text(entry))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return True, total


def _unpacked(entry: dict, pack: Path) -> bool:
    """Whether the entry's verified stamp is present (its files are then checked by :func:`unpack`)."""
    stamp = pack / pkg_id(entry) / STAMP
    return stamp.exists() and stamp.read_text() == stamp_text(entry)


def _glob_match(path: str, pattern: str) -> bool:
    """fnmatch per path segment (``*`` never crosses a ``/``)."""
    a, b = path.split("/"), pattern.split("/")
    return len(a) == len(b) and all(fnmatch.fnmatchcase(x, y) for x, y in zip(a, b, strict=True))


def _module_closure(selected: set[str], content: dict[str, bytes]) -> set[str]:
    """Add the files that selected ES modules import by relative path, transitively."""
    todo = [p for p in selected if p.endswith((".js", ".mjs"))]
    while todo:
        path = todo.pop()
        text = content[path].decode("utf-8", "replace")
        for m in _IMPORT_RE.finditer(text):
            spec = m.group(2)
            if not spec.startswith(("./", "../")):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path), spec)).replace(os.sep, "/")
            if target in content and target not in selected:
                selected.add(target)
                todo.append(target)
    return selected


def _umd_exports(code: bytes, global_name: str) -> list[str]:
    """Names a UMD/IIFE build puts on its global, read by running it in a bare node vm context."""
    node = shutil.which("node")
    if node is None:
        raise FetchError("--update-manifest needs node to list UMD exports")
    script = (
        "const vm=require('vm');let src='';process.stdin.on('data',d=>src+=d);process.stdin.on('end',()=>{"
        "const ctx={console:{log(){},warn(){},error(){}},setTimeout,clearTimeout,navigator:{userAgent:''}};"
        "ctx.self=ctx;ctx.window=ctx;ctx.globalThis=ctx;vm.createContext(ctx);vm.runInContext(src,ctx);"
        f"const g=ctx[{json.dumps(global_name)}]||{{}};"
        "console.log(JSON.stringify(Object.keys(g).filter(k=>/^[A-Za-z_$][\\w$]*$/.test(k)&&k!=='default')))})"
    )
    proc = subprocess.run([node, "-e", script], input=code, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise FetchError(f"could not list exports of {global_name}: {proc.stderr.decode()[-300:]}")
    return sorted(json.loads(proc.stdout))


def update_manifest(manifest: dict, cache: Path) -> None:
    """Recompute integrity, the file table and automatic export lists from the npm tarballs."""
    for entry in manifest["packages"]:
        tar_path = npm_pack(entry, cache)
        data = tar_path.read_bytes()
        entry["integrity"] = sri_sha512(data)
        registry = _npm_view_integrity(entry)
        if registry and registry != entry["integrity"]:
            raise FetchError(f"{pkg_id(entry)}: tarball integrity differs from the registry's ({registry})")
        content = read_tarball(tar_path, entry, check=False)
        selected: set[str] = set()
        for pattern in entry["include"]:
            hits = {p for p in content if _glob_match(p, pattern)}
            if not hits:
                raise FetchError(f"{pkg_id(entry)}: include pattern {pattern!r} matches nothing")
            selected |= hits
        selected = _module_closure(selected, content)
        entry["files"] = {p: hashlib.sha256(content[p]).hexdigest() for p in sorted(selected)}
        for spec in entry.get("esm", {}).values():
            if spec.get("exports") == "auto" or "exports_auto" in spec:
                spec["exports_auto"] = True
                spec["exports"] = _umd_exports(content[spec["umd"]], spec["global"])
        size = sum(len(content[p]) for p in selected)
        print(f"  {pkg_id(entry):40s} {len(selected):4d} files {size / 1e6:7.2f} MB")
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")


def _npm_view_integrity(entry: dict) -> str:
    npm = shutil.which("npm")
    if npm is None:
        return ""
    proc = subprocess.run(
        [npm, "view", pkg_id(entry), "dist.integrity"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verify", action="store_true", help="re-hash every unpacked file")
    ap.add_argument("--update-manifest", action="store_true", help="recompute the manifest (maintainers)")
    ap.add_argument(
        "--pack", type=Path, default=PACK, help="where to unpack (default resources/runtime/pack)"
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("STUDIO_RUNTIME_CACHE", ROOT / ".cache" / "runtime")),
    )
    args = ap.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text())
    try:
        if args.update_manifest:
            update_manifest(manifest, args.cache)
        written, total = 0, 0
        stale = [e for e in manifest["packages"] if not _unpacked(e, args.pack)]
        npm_pack_all(stale, args.cache)
        for entry in manifest["packages"]:
            changed, size = unpack(entry, args.cache, args.pack, verify=args.verify)
            written += changed
            total += size
    except FetchError as exc:
        print(f"fetch_runtime: {exc}", file=sys.stderr)
        return 1
    count = len(manifest["packages"])
    print(f"runtime pack: {count} packages, {total / 1e6:.1f} MB in {args.pack} ({written} unpacked now)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
