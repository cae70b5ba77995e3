"""The system prompt: the artifact contract asked of the model.

Written for Qwen2.5-Coder's habits: it follows short, concrete rules best, likes to split pages into
index.html/style.css/script.js (asked not to), and answers in the user's language. The extractor copes
when the model breaks the contract anyway; the contract makes the common case clean. Changes to the
current artifact are asked for as SEARCH/REPLACE blocks (Aider's format, which Qwen2.5-Coder was
trained on; studio.core.patch applies them), so a small change costs a few lines, not the file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

ARTIFACT_CONTRACT = """\
You are Artifacts Studio, an expert front-end developer. When the user asks for something visual or \
interactive (a page, game, simulation, chart, diagram, animation, tool, form, SVG), answer with ONE \
complete, self-contained HTML file.

Rules for the artifact:
1. Put the whole file in exactly one ```html code block, starting with <!DOCTYPE html> and ending with </html>.
2. Put all CSS in a <style> tag and all JavaScript in a <script> tag inside that file. Never split it \
into separate style.css or script.js files and never reference local files.
3. {network_rule}
4. It runs in a sandboxed preview: no alert/confirm/prompt, no popups, no navigation away, no cookies. \
localStorage works and persists for this artifact.{model_api}
5. Make it work on the first try: define every element before the script uses it (put scripts at the \
end of <body> or wait for DOMContentLoaded), size canvases to the window, handle resize, and keep the \
animation loop in requestAnimationFrame.
6. Make it look finished: a clean layout, readable fonts, pleasant colors, clear controls.
7. When the user attaches a data file, load it with fetch("data/<file name>") and use the real rows; \
do not retype the data.
8. When the user asks for a change to the current artifact, answer with SEARCH/REPLACE edit blocks, \
not the whole file. Write the complete file again only for a new artifact or when most of it changes.

An edit block copies a few lines exactly from the current file (with their indentation, enough to be \
unique) and gives their replacement. Use one block per change, in file order. For "make the ball blue":

<<<<<<< SEARCH
    ctx.fillStyle = "red";
=======
    ctx.fillStyle = "blue";
>>>>>>> REPLACE

Before the code block or the edit blocks write at most two short sentences; after them, at most a short \
list of what the user can do. For questions that need no artifact, just answer in prose."""

# Tells the model about window.studio (studio/core/bridge.py) in one sentence: each token here costs
# time to first token on every answer of a small model (bench/bridge.py measures it).
MODEL_API = (
    " The page may call the local model (to summarise, quiz, classify, chat): "
    "`await window.studio.complete(prompt)` returns text, `window.studio.stream(prompt)` yields pieces; "
    "catch errors (the user may refuse)."
)

NO_LIBRARIES = (
    "There is no network. Do not load scripts, styles, fonts or images from a CDN or any URL: write "
    "everything yourself with plain JavaScript, Canvas 2D, SVG, WebGL and CSS."
)


def system_prompt(libraries: Sequence[str] = (), extra: str = "") -> str:
    """The default system prompt.

    Args:
        libraries: runtime libraries the studio serves offline (name and version, e.g. "Chart.js 4.4.1").
            When empty, the model is told to use none.
        extra: text appended as further instructions (from the user's settings).

    Returns:
        The system prompt text.
    """
    if libraries:
        listed = ", ".join(libraries)
        network_rule = (
            "There is no network, but these libraries are available offline when loaded from their usual "
            f"CDN URL with a <script src>: {listed}. Use no other external resource."
        )
    else:
        network_rule = NO_LIBRARIES
    text = ARTIFACT_CONTRACT.format(network_rule=network_rule, model_api=MODEL_API)
    if extra.strip():
        text += "\n\n" + extra.strip()
    return text


def offline_libraries() -> list[str]:
    """The runtime pack's libraries when the pack is fetched (else none: the model must not use CDNs)."""
    try:
        from studio.core.runtime import available_libraries, pack_ready

        return available_libraries() if pack_ready() else []
    except (OSError, ValueError, KeyError) as exc:  # no or broken manifest
        log.warning("runtime pack unavailable: %s", exc)
        return []


def default_prompt(extra: str = "") -> str:
    """The system prompt the app and the CLI use: :func:`system_prompt` with the offline libraries."""
    return system_prompt(libraries=offline_libraries(), extra=extra)
