"""ES-module answers of the runtime pack (esm.sh, jsDelivr ``/+esm``, Skypack, unpkg ``?module``).

Every module request maps to one *canonical* URL, ``https://esm.sh/<name>@<pinned>[/<sub>]``; any
other spelling of it (no version, a range, ``/v135/``...) is answered by a two-line stub that
re-exports the canonical module, so every alias shares one module instance (one React, one Preact)
as on the real esm.sh. Canonical modules are:

* a package's own ESM file, with bare imports of pack packages rewritten to their canonical URLs
  (names listed in ``?external=`` stay bare for the page's import map);
* a UMD build wrapped as a module (it runs once, on ``globalThis``; named exports read from the
  global), for packages that ship no ESM build (React 18, D3's bundle, Tone.js, ...);
* a tiny generated ``react/jsx-runtime`` over ``React.createElement``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import replace
from typing import Any

from studio.core.runtime.types import Pack, PackFile

IMPORT_RE = re.compile(r"""\b(?:import|export)\b\s*(?:[\w*${}\s,]*?\bfrom\s*)?(["'])([^"'\n]+)\1""")
"""Static ``import``/``export ... from`` specifiers (group 2)."""
DYNAMIC_IMPORT_RE = re.compile(r"""\bimport\s*\(\s*(["'])([^"'\n]+)\1\s*\)""")
"""Dynamic ``import("...")`` with a literal specifier (group 2)."""
ESM_ORIGIN = "https://esm.sh"
_DEFAULT_RE = re.compile(r"\bexport\s+default\b|\bas\s+default\b")
_IDENT_RE = re.compile(r"^[A-Za-z_$][\w$]*$")
_RESERVED = frozenset(
    "break case catch class const continue debugger default delete do else enum export extends false finally "
    "for function if import in instanceof new null return super switch this throw true try typeof var void "
    "while with yield let static implements interface package private protected public await arguments eval".split()
)

_JSX_RUNTIME = """import React from {react};
export const Fragment = React.Fragment;
export function jsx(type, props, key) {{
  return React.createElement(type, key === undefined ? props : Object.assign({{}}, props, {{ key }}));
}}
export const jsxs = jsx;
export const jsxDEV = jsx;
"""


def is_bare(spec: str) -> bool:
    """Whether a module specifier is bare (resolved only through an import map)."""
    return not re.match(r"^(?:[a-zA-Z][\w+.-]*:|/|\./|\.\./)", spec)


def split_bare(spec: str) -> tuple[str, str]:
    """``@scope/pkg/sub/x`` -> (``@scope/pkg``, ``sub/x``)."""
    parts = spec.split("/")
    n = 2 if spec.startswith("@") else 1
    return "/".join(parts[:n]), "/".join(parts[n:])


def canonical_url(name: str, version: str, sub: str, external: tuple[str, ...] = ()) -> str:
    """The pinned esm.sh URL of a module."""
    url = f"{ESM_ORIGIN}/{name}@{version}" + (f"/{sub}" if sub else "")
    return url + (f"?external={','.join(external)}" if external else "")


def esm_spec(pack: Pack, entry: dict[str, Any], sub: str) -> tuple[str, dict[str, Any]] | None:
    """The module recipe for ``<package>/<sub>``: (key, spec) or None when the pack has none."""
    sub = sub.strip("/")
    table: dict[str, dict[str, Any]] = entry.get("esm", {})
    if sub in table:
        return sub, table[sub]
    for key, spec in table.items():
        if key.endswith("/") and "dir" in spec and sub.startswith(key):
            file = pack.find_file(entry, spec["dir"] + sub[len(key) :])
            return (sub, {"file": file}) if file else None
    file = pack.find_file(entry, sub) if sub else None
    if file is None:
        return None
    for key, spec in table.items():
        if spec.get("umd") == file:
            return key, spec
    if (
        file.endswith((".mjs", ".module.js", ".esm.js", ".es.js"))
        or "/jsm/" in file
        or file.startswith("es/")
    ):
        return sub, {"file": file}
    return None


def module_file(
    pack: Pack, entry: dict[str, Any], sub: str, url: str, external: tuple[str, ...], exact: bool
) -> PackFile | None:
    """The :class:`PackFile` of a module request (a stub unless ``url`` is already canonical)."""
    found = esm_spec(pack, entry, sub)
    if found is None:
        return None
    key, spec = found
    canonical = canonical_url(entry["name"], entry["version"], sub.strip("/"), external)
    stub = not exact or url.split("#")[0].replace("http://", "https://", 1) != canonical
    path = str(spec.get("file") or spec.get("umd") or "")
    return PackFile(entry["name"], entry["version"], path, "text/javascript", key, canonical, stub, external)


def rewrite_specifiers(text: str, fn: Any) -> str:
    """Replace every static and literal dynamic import specifier ``s`` by ``fn(s)``."""
    spans: list[tuple[int, int, str]] = []
    for rx in (IMPORT_RE, DYNAMIC_IMPORT_RE):
        for m in rx.finditer(text):
            new = fn(m.group(2))
            if new != m.group(2):
                spans.append((m.start(2), m.end(2), new))
    out, pos = [], 0
    for start, end, new in sorted(spans):
        if start < pos:
            continue
        out += [text[pos:start], new]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _bare_to_canonical(pack: Pack, own: dict[str, Any], external: tuple[str, ...]) -> Any:
    def fn(spec: str) -> str:
        if not is_bare(spec):
            return spec
        name, sub = split_bare(spec)
        if name in external or "*" in external:
            return spec
        dep = own if name == own["name"] else pack.default_entry(name)
        if dep is None or esm_spec(pack, dep, sub) is None:
            return spec
        return canonical_url(dep["name"], dep["version"], sub)

    return fn


def _umd_module(pack: Pack, entry: dict[str, Any], spec: dict[str, Any], external: tuple[str, ...]) -> str:
    glob = json.dumps(spec["global"])
    lines = []
    for req in spec.get("requires", []):
        dep = pack.default_entry(req)
        target = req if req in external or dep is None else canonical_url(dep["name"], dep["version"], "")
        lines.append(f"import {json.dumps(target)};")
    code = pack.read(entry, spec["umd"]).decode("utf-8")
    lines.append(f"if (!globalThis[{glob}]) {{\n(function () {{\n{code}\n}}).call(globalThis);\n}}")
    lines.append(f"const __g = globalThis[{glob}];\nexport default __g;")
    names = [n for n in spec.get("exports", []) if _IDENT_RE.match(n) and n not in _RESERVED]
    # Mangled locals: a module-scope `const window` (d3 exports one) would shadow the UMD's globals.
    for name in names:
        lines.append(f"const __x_{name} = __g[{json.dumps(name)}];")
    if names:
        lines.append(f"export {{ {', '.join(f'__x_{n} as {n}' for n in names)} }};")
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=32)
def module_bytes(pack: Pack, pf: PackFile) -> str:
    """The JavaScript text of a module :class:`PackFile`."""
    entry = pack.entry(pf.package, pf.version)
    if pf.stub:
        full = module_bytes(pack, replace(pf, stub=False))
        target = json.dumps(pf.canonical)
        text = f"export * from {target};\n"
        return text + (f"export {{ default }} from {target};\n" if _DEFAULT_RE.search(full) else "")
    found = esm_spec(pack, entry, pf.module or "")
    if found is None:
        raise LookupError(f"{pf.pin} has no module {pf.module!r}")
    spec = found[1]
    if "umd" in spec:
        return _umd_module(pack, entry, spec, pf.external)
    if spec.get("generated") == "jsx-runtime":
        react = pack.default_entry("react")
        target = (
            "react"
            if "react" in pf.external or react is None
            else canonical_url("react", react["version"], "")
        )
        return _JSX_RUNTIME.format(react=json.dumps(target))
    text = pack.read(entry, spec["file"]).decode("utf-8")
    return rewrite_specifiers(text, _bare_to_canonical(pack, entry, pf.external))
