"""What extraction must give for each real answer of ../shared/corpus, and why.

``used`` are indices into ``Extraction.blocks`` (every block the answer holds, in order);
``has`` / ``lacks`` are substrings the artifact's source must / must not contain.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    kind: str | None
    truncated: bool = False
    blocks: tuple[str, ...] = ()
    used: tuple[int, ...] = ()
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    title: str | None = None
    reason: str = ""
    why: str = ""


FENCE = "```"

CASES: dict[str, Case] = {
    "01-joke-site-gpt4": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Random Joke Generator",
        has=("<!DOCTYPE html>", "generateJoke()", "</html>"),
        lacks=(FENCE, "In this code"),
        why="baseline: one ```html fence with a full document, prose after it is not part of it",
    ),
    "02-joke-site-vicuna13b-php-fence": Case(
        "html",
        blocks=("html",),
        used=(0,),
        has=("<!DOCTYPE html>", "font-family: Arial"),
        lacks=("This code uses",),
        why="the tag says php but the content is an HTML document: content wins over the tag",
    ),
    "03-joke-site-stablelm-runaway-truncated": Case(
        "html",
        truncated=True,
        blocks=("html", "html", "html", "html"),
        used=(3,),
        has=("<!DOCTYPE html>", "function showJoke()"),
        lacks=("</html>", "I want to make", FENCE),
        why="four re-emitted documents: the last revision wins, and it is cut off mid-script",
    ),
    "04-joke-site-guanaco-unfenced-in-prose": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Joke Website",
        has=("<!DOCTYPE html>", "joke-button", "</html>"),
        lacks=("Here is an example", "In this example"),
        why="no fence: the bare document between prose paragraphs is recovered from <!DOCTYPE to </html>",
    ),
    "05-joke-site-fastchat-t5-inline-fence-degenerate": Case(
        "html",
        truncated=True,
        blocks=("html",),
        used=(0,),
        title="Jokes and Fun",
        has=("<!DOCTYPE html><html><head>", '<meta name="viewport"'),
        lacks=("Here's a simple", FENCE, "</html>"),
        why="opening fence glued to prose on the same line; degenerate <meta> loop never closes",
    ),
    "06-joke-site-dolly-bare-html": Case(
        "html",
        blocks=("html",),
        used=(0,),
        has=("<!DOCTYPE html>", "myFunction", "</html>"),
        why="the answer is only a bare document",
    ),
    "07-joke-site-llama13b-repetition-loop": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Random Joke",
        has=("<!DOCTYPE html>", "<title>Random Joke</title>", "<p>16. What do you call"),
        lacks=(FENCE,),
        why="an untagged fragment (no <html>) is wrapped into a page; its fence does close, so not truncated",
    ),
    "08-joke-site-followup-css-gpt35": Case(
        "html",
        blocks=("html",),
        used=(0,),
        has=("color: red;", "getRandomJoke"),
        lacks=("In this example",),
        why="a follow-up turn re-emits the whole updated page in one fence",
    ),
    "09-svg-impossible-triangle-gpt4": Case(
        "svg",
        blocks=("svg",),
        used=(0,),
        has=("<svg", "</svg>", "polygon"),
        lacks=("<html", "You can copy"),
        why="a bare <svg> element (tagged html) is an svg artifact",
    ),
    "10-transformersjs-chat-fragments-gpt35": Case(
        "html",
        blocks=("html", "html", "js", "css"),
        used=(0, 1, 2, 3),
        has=(
            "<!DOCTYPE html>",
            'id="chat-container"',
            "cdn.jsdelivr.net/npm/@huggingface/transformers",
            "appendMessage",
            "#chat-messages {",
            "<style>",
            "<script>",
        ),
        lacks=("Include the necessary", FENCE),
        why="four fragments and no document: html in order, css in head, js at body end",
    ),
    "11-sprite-editor-js-only-gpt4-0613": Case(
        "html",
        blocks=("js",),
        used=(0,),
        title="JavaScript demo",
        has=('<canvas id="canvas"', "class SpriteEditor", "<script>"),
        lacks=("This code creates",),
        why="browser JS alone gets a host page with the canvas it looks up by id",
    ),
    "12-glowing-text-o3mini-dashed-separators": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Glowing Rainbow Text",
        has=("<!DOCTYPE html>", "@keyframes animateRainbow", "</html>"),
        lacks=("-----", "How It Works"),
        why="a bare document between dashed lines: the dashes are prose",
    ),
    "13-os-emulator-skyt1-split-html-css-js": Case(
        "html",
        blocks=("html", "css", "js"),
        used=(0, 1, 2),
        title="Simple OS Emulator",
        has=("#taskbar {", "function createFile()", "<style>", 'id="desktop"'),
        lacks=('href="styles.css"', 'src="scripts.js"', "### Explanation"),
        why="styles.css and scripts.js are named by headings and replaced inline",
    ),
    "14-glowing-text-skyt1-html-plus-css": Case(
        "html",
        blocks=("html", "css"),
        used=(0, 1),
        title="Glowing Text with Rainbow Border",
        has=("@keyframes gradientAnimation", "<style>", "Amazing Text"),
        lacks=('href="styles.css"',),
        why='"### CSS (styles.css):" names the block the <link> refers to',
    ),
    "15-html-article-skyt1-bare-doc": Case(
        "html",
        blocks=("html",),
        used=(0,),
        has=("<!DOCTYPE html>", "</html>"),
        why="the answer is only a bare document",
    ),
    "16-react-tsx-input-skyt1": Case(
        "react",
        blocks=("tsx",),
        used=(0,),
        title="Input",
        has=("import React", "interface InputProps", "export default Input;"),
        lacks=("### ", FENCE),
        why="TSX tagged typescript: imports react and exports a default component; generic headings skipped for the title",
    ),
    "17-preact-importmap-edit-skyt1": Case(
        "html",
        blocks=("html",),
        used=(0,),
        has=('<script type="importmap">', "</html>"),
        why="one long document using an import map (a framework via CDN, no harness needed)",
    ),
    "18-css-slideshow-claude-instant-labeled-unfenced": Case(
        "html",
        blocks=("html", "css"),
        used=(0, 1),
        has=('<div class="slideshow">', ".slide:first-child {", "<style>"),
        lacks=("HTML:", "CSS:", "This uses CSS sibling", "Here is how"),
        why='no fences: the markup after "HTML:" and the rules after "CSS:" are recovered and paired',
    ),
    "19-css-slideshow-vicuna7b-css-tagged-truncated": Case(
        "html",
        truncated=True,
        blocks=("html", "html", "css", "css", "css", "html"),
        used=(0, 1, 2, 3, 4, 5),
        has=('class="active"', ".slides img.next {", 'class="slideshow-container"'),
        lacks=("1. Create", FENCE),
        why="css-tagged blocks holding markup are html; the last fragment revises the first and is cut off",
    ),
    "20-css-slideshow-starling-iterative-fragments": Case(
        "html",
        blocks=("html", "css", "html", "css", "html"),
        used=(0, 1, 2, 3, 4),
        has=(
            '<figure class="slide" id="slide1">',
            "<nav>",
            "nav button:hover",
            'class="slideshow-container"',
        ),
        lacks=('<figure class="slide">',),
        why="step 5 re-writes the figures with ids: it replaces them inside the step-1 container (latest wins)",
    ),
    "21-tailwind-stats-claude21-truncated-svg": Case(
        "html",
        truncated=True,
        blocks=("html",),
        used=(0,),
        has=("<svg", "My Store Stats", "<!DOCTYPE html>"),
        lacks=("Here is an example",),
        why="a Tailwind fragment with inline svg icons, wrapped; the fence never closes",
    ),
    "22-domino-threejs-claude35": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Domino Spiral",
        has=("three.min.js", "</html>"),
        why="one clean document with a CDN script",
    ),
    "23-domino-threejs-cannon-grok4": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Domino Spiral Simulation",
        has=("cannon", "</html>"),
        why="the answer starts with the fence",
    ),
    "24-domino-threejs-gpt5-bare": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Spiral Dominoes",
        has=("<!DOCTYPE html>", "</html>"),
        why="a bare document with no fence (two joined replies)",
    ),
    "25-domino-threejs-qwen3coderplus": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="3D Domino Spiral Chain Reaction",
        has=("</html>",),
        lacks=("## Features", "# 3D"),
        why="Qwen formatting: H1, intro, one fence, headed explanation after",
    ),
    "26-pacman-claude-opus41-stray-fence": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="PAC-MAN",
        has=("1.5, 0, Math.PI * 2);\n                        ctx.fill();", "</html>"),
        lacks=(FENCE, "1.5, 0\n"),
        why="a stray ```javascript line at a continuation seam is dropped with the half line repeated before it",
    ),
    "27-pacman-gpt5-empty": Case(None, reason="the answer is empty", why="zero characters"),
    "28-pacman-gpt5codex-refusal": Case(
        None, reason="no renderable artifact in the answer", why="a one-line refusal, no code"
    ),
    "29-hexagon-balls-aion-think-truncated": Case(
        "html",
        truncated=True,
        blocks=("html",),
        used=(0,),
        title="Spinning Hexagon with Balls",
        has=("<!DOCTYPE html>", "balls.forEach(ball => ball.draw());"),
        lacks=("</html>", "<think>", "For now, I must focus"),
        why="the drafts inside <think> are never blocks; the final fence is cut off mid-script",
    ),
    "30-hexagon-balls-claude3haiku": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Ball Simulation",
        has=("createBalls", "</html>"),
        why="standard intro + one fence + explanation",
    ),
    "31-tictactoe-gpt5codex-stray-fence": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Tic Tac Toe - Skybound Finish",
        has=("display: flex;\n\n      align-items: center;", "</html>"),
        lacks=(FENCE,),
        why="a stray ```html line inside the CSS (continuation seam) cannot close the block and is dropped",
    ),
    "32-tictactoe-grok3-missing-first-char": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Tic Tac Toe",
        has=("</html>",),
        lacks=("et's plan",),
        why="fence right after prose with no blank line; prose right after the closing fence",
    ),
    "33-tictactoe-aion-think-unfenced": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Tic Tac Toe with a Twist",
        has=("<!DOCTYPE html>", "</html>"),
        lacks=("<think>", "I'll write the complete code now"),
        why="the bare document in the reasoning is skipped; the one after </think> is the artifact",
    ),
    "34-tictactoe-gemma3-leading-newlines": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Tic Tac Toe",
        has=("</html>",),
        lacks=("revised response",),
        why="two leading newlines then the fence",
    ),
    "35-rainstorm-gemini25pro": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Raining and Thunder",
        has=("</html>",),
        lacks=("Of course!",),
        why="bullet-list intro before the code",
    ),
    "36-chatbot-ui-gpt4o-cdnjs": Case(
        "html",
        blocks=("html",),
        used=(0,),
        title="Chatbot with OpenRouter",
        has=("cdnjs", "</html>"),
        why="app-style page loading CDN libraries",
    ),
    "37-react-fractal-explorer-vibes-claude37": Case(
        "react",
        blocks=("jsx",),
        used=(0,),
        title="Fireproof Fractal Explorer",
        has=("export default function FractalExplorer", 'from "use-fireproof"'),
        lacks=('"dependencies"', FENCE),
        why="vibes.diy: the leading dependencies JSON is not the artifact; the ```js block is a React component",
    ),
    "38-react-dream-journal-vibes-claude37": Case(
        "react",
        blocks=("jsx",),
        used=(0,),
        title="Dream Journal with AI Reflection",
        has=("export default function DreamJournal", "react-dropzone"),
        lacks=('"dependencies"', "^14.2.3"),
        why="multi-line dependencies JSON before an H1; the ```jsx component is the artifact",
    ),
}


# Split answers whose pieces come in UNLABELLED fences: the content names the language.
_SPLIT_HTML = '<div id="app"><h1>Counter</h1><button id="inc">Add one</button> <span id="n">0</span></div>'
_SPLIT_CSS_ONE_LINE = "body { background: #123456; color: white; }\n#n { font-size: 40px; }"
_SPLIT_CSS = "body {\n  background: #123456;\n}\n#n {\n  font-size: 40px;\n}"
_SPLIT_JS = (
    "let n = 0;\n"
    "document.getElementById('inc').addEventListener('click', () => {\n"
    "  n++;\n  document.getElementById('n').textContent = n;\n});"
)


def _answer(*blocks: tuple[str, str]) -> str:
    parts = ["Here is a counter.\n"]
    for tag, body in blocks:
        parts.append(f"{FENCE}{tag}\n{body}\n{FENCE}\n")
    return "\n".join(parts) + "\nClick the button to count.\n"


SPLIT_CASES: dict[str, tuple[str, Case]] = {
    "html-then-unlabelled-one-line-css-then-js": (
        _answer(("html", _SPLIT_HTML), ("", _SPLIT_CSS_ONE_LINE), ("javascript", _SPLIT_JS)),
        Case(
            "html",
            blocks=("html", "css", "js"),
            used=(0, 1, 2),
            has=("background: #123456", "font-size: 40px", "<style>", "textContent = n"),
            lacks=(FENCE, "Here is a counter"),
            why="the unlabelled fence holds one-line CSS rules: sniffed as css and kept in the page",
        ),
    ),
    "html-then-unlabelled-css-then-js": (
        _answer(("html", _SPLIT_HTML), ("", _SPLIT_CSS), ("javascript", _SPLIT_JS)),
        Case(
            "html",
            blocks=("html", "css", "js"),
            used=(0, 1, 2),
            has=("background: #123456", "<style>", "textContent = n"),
            why="an unlabelled fence of multi-line CSS rules is css",
        ),
    ),
    "unlabelled-html-css-js": (
        _answer(("", _SPLIT_HTML), ("", _SPLIT_CSS_ONE_LINE), ("", _SPLIT_JS)),
        Case(
            "html",
            blocks=("html", "css", "js"),
            used=(0, 1, 2),
            has=('<button id="inc">Add one</button>', "font-size: 40px", "textContent = n"),
            why="three unlabelled fences: markup, style and script are each told from their content",
        ),
    ),
}
