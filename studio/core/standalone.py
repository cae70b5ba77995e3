"""An artifact as ONE standalone HTML page (what the studio renders and ``extract`` writes).

* html: the document as is, with a ``<meta charset="utf-8">`` added when it has none;
* svg: wrapped in a minimal page that centres it and scales it to the window;
* react: a harness page: an import map sending ``react``, ``react-dom``, ``react-dom/client`` and
  ``react/jsx-runtime`` (and any other bare import of the module) to pinned esm.sh URLs, Babel
  standalone (pinned unpkg URL) compiling the TSX/JSX module (presets react + typescript), and a
  mount that renders the default export into ``#root``. Those pinned URLs are exactly what the
  offline runtime pack serves (:mod:`studio.core.runtime`), so the harness needs no network; other
  bare imports go to esm.sh and load only where the pack has them or the network is allowed. When
  Babel or a module cannot load, the page prints ONE console error naming what failed, and shows it
  in the page.
"""

from __future__ import annotations

import html
import json
import re

from studio.core.extract.types import Artifact

REACT_VERSION = "18.3.1"
BABEL_VERSION = "7.26.4"
BABEL_URL = f"https://unpkg.com/@babel/standalone@{BABEL_VERSION}/babel.min.js"
REACT_IMPORTS: dict[str, str] = {
    "react": f"https://esm.sh/react@{REACT_VERSION}",
    "react/jsx-runtime": f"https://esm.sh/react@{REACT_VERSION}/jsx-runtime",
    "react-dom": f"https://esm.sh/react-dom@{REACT_VERSION}?external=react",
    "react-dom/client": f"https://esm.sh/react-dom@{REACT_VERSION}/client?external=react",
}
"""The pinned runtime URLs of the react harness: the offline pack serves each of them as is."""

ERROR_PREFIX = "[artifact]"
"""Every console error the harness itself prints starts with this."""

_CHARSET_RE = re.compile(r"<meta\b[^>]*\bcharset\s*=", re.I)
_HEAD_RE = re.compile(r"<head\b[^>]*>", re.I)
_HTML_RE = re.compile(r"<html\b[^>]*>", re.I)
_DOCTYPE_RE = re.compile(r"<!doctype[^>]*>", re.I)
_IMPORT_RE = re.compile(
    r"""(?:^|[\s;])(?:import|export)\s*(?:[\w*{}\s,$]+?\s*from\s*)?["']([^"'./][^"']*)["']""", re.M
)
_CSS_IMPORT_RE = re.compile(r"""^\s*import\s+["'][^"']+\.css["'];?[ \t]*$""", re.M)


def standalone_html(artifact: Artifact) -> str:
    """Render an artifact as one standalone HTML page.

    Args:
        artifact: the extracted artifact.

    Returns:
        The page's HTML text.
    """
    if artifact.kind == "svg":
        return _svg_page(artifact)
    if artifact.kind == "react":
        return react_harness(artifact.source, artifact.title)
    return ensure_charset(artifact.source)


def ensure_charset(doc: str) -> str:
    """The document with ``<meta charset="utf-8">`` added at the top of head when it declares none."""
    if _CHARSET_RE.search(doc):
        return doc
    meta = '<meta charset="utf-8">'
    for rx in (_HEAD_RE, _HTML_RE, _DOCTYPE_RE):
        m = rx.search(doc)
        if m is not None:
            return f"{doc[: m.end()]}\n{meta}{doc[m.end() :]}"
    return f"{meta}\n{doc}"


def _svg_page(artifact: Artifact) -> str:
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(artifact.title)}</title>\n"
        "<style>\nhtml, body { height: 100%; margin: 0; }\n"
        "body { display: flex; align-items: center; justify-content: center; background: #fff; }\n"
        "body > svg { max-width: 100vw; max-height: 100vh; height: auto; }\n</style>\n"
        f"</head>\n<body>\n{artifact.source.strip()}\n</body>\n</html>\n"
    )


def module_imports(source: str) -> list[str]:
    """The bare module specifiers a component module imports, in order, without duplicates."""
    return list(dict.fromkeys(m.group(1) for m in _IMPORT_RE.finditer(source)))


def import_map(source: str) -> dict[str, str]:
    """The import map for a module: the pinned React URLs plus esm.sh for every other bare import."""
    imports = dict(REACT_IMPORTS)
    for spec in module_imports(source):
        if spec not in imports:
            imports[spec] = f"https://esm.sh/{spec}?external=react,react-dom"
    return imports


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def react_harness(source: str, title: str) -> str:
    """The harness page that compiles a React component module and mounts its default export.

    Args:
        source: the TSX/JSX module text.
        title: the page title.

    Returns:
        The page's HTML text.
    """
    module = _CSS_IMPORT_RE.sub("", source)
    imports = import_map(module)
    deps = [s for s in module_imports(module) if s in imports]
    for base in ("react", "react-dom/client"):
        if base not in deps:
            deps.append(base)
    return _HARNESS.format(
        title=html.escape(title),
        imports=_script_json({"imports": imports}),
        babel=html.escape(BABEL_URL),
        source=_script_json(module),
        deps=_script_json({d: imports[d] for d in deps}),
        prefix=_script_json(ERROR_PREFIX),
    )


_HARNESS = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script>
window.__artifactFail = (function () {{
  var reported = false;
  return function (message) {{
    if (reported) return;
    reported = true;
    console.error({prefix} + " " + message);
    var root = document.getElementById("root");
    if (root) {{ root.textContent = message; root.setAttribute("data-artifact-error", "1"); }}
  }};
}})();
window.__babelFailed = false;
</script>
<script type="importmap">{imports}</script>
<script src="{babel}" onerror="window.__babelFailed = true"></script>
<style>html, body {{ margin: 0; }} #root[data-artifact-error] {{ font: 14px/1.4 system-ui, sans-serif; color: #b00020; padding: 1rem; white-space: pre-wrap; }}</style>
</head>
<body>
<div id="root"></div>
<script type="module">
const SOURCE = {source};
const DEPS = {deps};
const fail = window.__artifactFail;
async function main() {{
  if (window.__babelFailed || typeof Babel === "undefined") {{
    fail("could not load Babel standalone from {babel} (offline or blocked); the component cannot be compiled");
    return;
  }}
  for (const [name, url] of Object.entries(DEPS)) {{
    try {{
      await import(name);
    }} catch (err) {{
      fail(`could not load module "${{name}}" from ${{url}} (offline or blocked): ${{err && err.message || err}}`);
      return;
    }}
  }}
  let code;
  try {{
    code = Babel.transform(SOURCE, {{
      filename: "artifact.tsx",
      presets: [["react", {{ runtime: "automatic" }}], ["typescript", {{ isTSX: true, allExtensions: true }}]],
    }}).code;
  }} catch (err) {{
    fail(`the component does not compile: ${{err && err.message || err}}`);
    return;
  }}
  const url = URL.createObjectURL(new Blob([code], {{ type: "text/javascript" }}));
  let mod;
  try {{
    mod = await import(url);
  }} catch (err) {{
    fail(`the component module failed to load: ${{err && err.message || err}}`);
    return;
  }}
  const App = mod.default;
  if (App === undefined || App === null) {{
    fail("the component module has no default export to render");
    return;
  }}
  const React = await import("react");
  const {{ createRoot }} = await import("react-dom/client");
  createRoot(document.getElementById("root")).render(React.createElement(App));
}}
main();
</script>
</body>
</html>
"""
