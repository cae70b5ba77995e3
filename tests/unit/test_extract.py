"""The extraction rules, each on a small hand-written answer."""

from __future__ import annotations

import json
import random

import pytest

from studio.core.extract import Artifact, Extraction, StreamingExtractor, extract
from studio.core.standalone import BABEL_URL, REACT_IMPORTS, standalone_html

DOC = "<!DOCTYPE html>\n<html>\n<head>\n<title>Demo</title>\n</head>\n<body>\n<p>hi</p>\n</body>\n</html>\n"


def art(text: str) -> Artifact:
    a = extract(text).artifact
    assert a is not None, extract(text).reason
    return a


def stream(text: str, sizes: list[int]) -> tuple[StreamingExtractor, list[Extraction]]:
    ex = StreamingExtractor()
    snaps = []
    i = k = 0
    while i < len(text):
        n = sizes[k % len(sizes)]
        ex.feed(text[i : i + n])
        snaps.append(ex.snapshot())
        i, k = i + n, k + 1
    return ex, snaps


# -- fences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "open_, close",
    [
        ("```html", "```"),
        ("~~~html", "~~~"),
        ("````html", "````"),
        ("   ```HTML", "```"),
        ("```Html {.x}", "````"),
    ],
)
def test_fence_forms(open_: str, close: str) -> None:
    a = art(f"Here:\n{open_}\n{DOC}{close}\nAfter.")
    assert a.source == DOC
    assert a.complete and not a.truncated
    assert a.blocks[0].tag == open_.strip("`~ ")


def test_closing_fence_must_match_char_and_length() -> None:
    text = f"````html\n{DOC}```\n~~~~\nstill code\n````\nprose"
    a = art(text)
    assert a.source == DOC + "still code\n"  # fence lines that cannot close are dropped from code
    assert a.complete and extract(text).blocks[0].end == text.index("````\nprose")
    assert extract("~~~\nx = 1\n```\n").blocks[0].closed is False


def test_four_space_indent_is_not_a_fence() -> None:
    ex = extract("    ```html\n    <p>hi</p>\n    ```\n")
    assert not any(b.tag == "html" for b in ex.blocks)


def test_crlf_is_tolerated() -> None:
    text = ("Intro\n```html\n" + DOC + "```\nbye\n").replace("\n", "\r\n")
    a = art(text)
    assert a.source == DOC.replace("\n", "\r\n")
    assert a.complete


def test_language_tag_is_only_a_hint() -> None:
    assert art(f"```php\n{DOC}```\n").kind == "html"
    assert extract("```css\n<div class='a'>x</div>\n```\n").blocks[0].lang == "html"
    assert (
        extract("```html\n<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>\n```\n")
        .blocks[0]
        .lang
        == "svg"
    )
    assert extract("```\nbody {\n  color: red;\n}\n```\n").blocks[0].lang == "css"
    assert extract("```\ndef f(x):\n    return x\n```\n").blocks[0].lang == "python"


def test_opening_fence_glued_to_prose() -> None:
    text = "Here is the page:```html<!DOCTYPE html><html><head>\n<title>G</title></head><body></body></html>\n```\nEnd"
    a = art(text)
    assert a.source.startswith("<!DOCTYPE html><html><head>\n")
    assert "Here is" not in a.source and a.title == "G" and a.complete


# -- choosing and assembling -------------------------------------------------------------


def test_document_wins_over_snippets_and_last_revision_wins() -> None:
    text = f"```html\n<div>snippet</div>\n```\n```html\n{DOC}```\nNow better:\n```html\n{DOC.replace('hi', 'v2')}```\n"
    ex = extract(text)
    assert ex.artifact is not None
    assert "v2" in ex.artifact.source and "snippet" not in ex.artifact.source
    assert ex.artifact.blocks == (ex.blocks[2],)


def test_named_css_and_js_blocks_are_inlined_where_referenced() -> None:
    doc = DOC.replace("</head>", '<link rel="stylesheet" href="css/style.css">\n</head>').replace(
        "</body>", '<script src="app.js"></script>\n</body>'
    )
    text = f"### index.html\n```html\n{doc}```\n### JS (app.js)\n```js\nconsole.log('app');\n```\n**style.css**\n```css\np {{ color: red; }}\n```\n"
    a = art(text)
    assert 'href="css/style.css"' not in a.source and 'src="app.js"' not in a.source
    assert a.source.index("color: red") < a.source.index("</head>")
    assert a.source.index("console.log('app')") < a.source.index("</body>")
    assert len(a.blocks) == 3


def test_only_css_block_satisfies_an_unnamed_link_and_unreferenced_blocks_go_to_head_and_body_end() -> None:
    doc = DOC.replace("</head>", '<link rel="stylesheet" href="x.css">\n</head>')
    a = art(
        f"```html\n{doc}```\n```css\nh1 {{ margin: 0; }}\n```\n```javascript\ndocument.title = 'x';\n```\n"
    )
    assert "<style>\nh1 { margin: 0; }\n</style>" in a.source and "x.css" not in a.source
    assert a.source.index("document.title") < a.source.index("</body>")
    a2 = art(f"```html\n{DOC}```\n```css\nh1 {{ margin: 0; }}\n```\n")
    assert a2.source.index("h1 { margin") < a2.source.index("</head>")


def test_a_js_snippet_quoted_from_the_document_is_not_added_again() -> None:
    doc = DOC.replace("</body>", "<script>\nfunction go() { return 1; }\n</script>\n</body>")
    a = art(f"```html\n{doc}```\nThe key part:\n```js\nfunction go() {{ return 1; }}\n```\n")
    assert a.source.count("function go()") == 1


def test_fragments_are_wrapped_into_a_document() -> None:
    text = "```html\n<button id='b'>Go</button>\n```\n```css\nbutton { color: red; }\n```\n```js\ndocument.getElementById('b').onclick = () => 1;\n```\n"
    a = art(text)
    assert (
        a.kind == "html" and a.source.startswith("<!DOCTYPE html>") and a.source.rstrip().endswith("</html>")
    )
    assert a.source.index("color: red") < a.source.index("<button") < a.source.index("onclick")
    assert len(a.blocks) == 3


def test_a_later_fragment_revises_the_matching_part_of_an_earlier_one() -> None:
    text = (
        "```html\n<div class='box'>\n  <p>one</p>\n  <p>two</p>\n</div>\n```\n"
        "Add ids:\n```html\n<p id='a'>one</p>\n<p id='b'>two</p>\n```\n"
    )
    src = art(text).source
    assert "<div class='box'>" in src and "<p id='a'>one</p>" in src
    assert "<p>one</p>" not in src


def test_bare_document_and_dashed_separators() -> None:
    a = art(f"Sure!\n\n{DOC}\nThis page shows <p> tags.")
    assert a.source == DOC.rstrip("\n") and a.complete
    b = art(f"Code:\n-----------\n{DOC}-----------\nDone.")
    assert "-----" not in b.source and b.source.endswith("</html>")


def test_bare_svg_is_an_svg_artifact() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">\n<rect width="5" height="5"/>\n</svg>'
    a = art(f"Here it is:\n\n{svg}\n\nEnjoy.")
    assert a.kind == "svg" and a.source == svg and a.title == "SVG image"


def test_unfenced_labeled_html_and_css_are_paired() -> None:
    text = (
        'HTML:\n\n<div class="a">\n  <span>x</span>\n</div>\n\nCSS:\n\n.a {\n  color: red;\n}\n\nThat is all.'
    )
    a = art(text)
    assert '<div class="a">' in a.source and ".a {\n  color: red;\n}" in a.source
    assert "That is all" not in a.source and "CSS:" not in a.source


def test_js_only_answer_gets_a_host_page() -> None:
    js = "const c = document.getElementById('stage');\nconst ctx = c.getContext('2d');\nconst out = document.querySelector('#out');\n"
    a = art(f"```javascript\n{js}```\n")
    assert '<canvas id="stage"' in a.source and '<div id="out"></div>' in a.source
    assert a.source.index("<canvas") < a.source.index("getContext")
    none = extract("```js\nfunction add(a, b) { return a + b; }\n```\n")
    assert none.artifact is None and "JavaScript" in none.reason


@pytest.mark.parametrize("tag", ["typescript", "js", "jsx", "tsx", ""])
def test_react_components(tag: str) -> None:
    comp = "import React, { useState } from 'react';\n\nexport default function Counter() {\n  const [n, setN] = useState(0);\n  return <button onClick={() => setN(n + 1)}>{n}</button>;\n}\n"
    text = f'{{"dependencies": {{}}}}\n\n## Counter App\n\n```{tag}\n{comp}```\nUse it.'
    a = art(text)
    assert a.kind == "react" and a.source == comp and a.title == "Counter App"
    assert '"dependencies"' not in a.source


def test_react_title_falls_back_to_the_component_name() -> None:
    comp = "import React from 'react';\nconst Box = () => <div className='b'/>;\nexport default Box;\n"
    assert art(f"### Solution Code\n```tsx\n{comp}```\n").title == "Box"


# -- think, truncation, seams -------------------------------------------------------------


def test_think_content_is_never_the_artifact() -> None:
    text = f"<think>\nDraft:\n```html\n{DOC.replace('hi', 'draft')}```\n{DOC}</think>\n\n```html\n{DOC}```\n"
    ex = extract(text)
    assert ex.artifact is not None and "draft" not in ex.artifact.source
    assert len(ex.blocks) == 1
    only = extract(f"<think>\n```html\n{DOC}```\n</think>\nI cannot do that.")
    assert only.artifact is None


def test_think_opened_by_the_chat_template() -> None:
    # the template wrote <think>; the answer holds only its end
    ex = extract(f"Reasoning...\n```html\n<p>draft</p>\n```\n</think>\n\n```html\n{DOC}```\n")
    assert len(ex.blocks) == 1 and ex.artifact is not None and "draft" not in ex.artifact.source


def test_prose_starting_with_a_tag_is_not_a_bare_document() -> None:
    ex = extract("The tags:\n<html> is the root element.\n<svg> draws vectors.\nThat's it.")
    assert ex.artifact is None and ex.blocks == ()


def test_open_think_while_streaming() -> None:
    ex, snaps = stream(f"<think> let me write\n```html\n{DOC}```\n{DOC}", [3])
    assert all(s.artifact is None for s in snaps)
    assert "reasoning" in snaps[-1].reason
    ex.feed("</think>\n")
    ex.feed(DOC)
    assert ex.finish().artifact is not None


def test_truncated_answer_gives_the_partial_artifact() -> None:
    text = "```html\n<!DOCTYPE html>\n<html>\n<body>\n<script>\nlet x = 1;\n"
    ex = StreamingExtractor()
    ex.feed(text)
    mid = ex.snapshot().artifact
    assert mid is not None and not mid.truncated and not mid.complete
    final = ex.finish().artifact
    assert final is not None and final.truncated and not final.complete
    assert final.source.endswith("let x = 1;\n")


def test_closed_fence_without_html_end_is_not_complete_nor_truncated() -> None:
    a = art("```html\n<!DOCTYPE html>\n<html><body>x</body>\n```\n")
    assert not a.truncated and not a.complete


def test_stray_fence_line_in_an_open_document_is_dropped_with_the_repeated_half_line() -> None:
    text = "```html\n<!DOCTYPE html>\n<html>\n<script>\nctx.arc(1, 2,\n    1.5, 0\n```javascript\n    1.5, 0, 7);\n</script>\n</html>\n```\nDone."
    a = art(text)
    assert "```" not in a.source and "1.5, 0\n" not in a.source
    assert "ctx.arc(1, 2,\n    1.5, 0, 7);" in a.source and a.complete


def test_a_complete_line_before_a_seam_is_kept() -> None:
    text = "```html\n<!DOCTYPE html>\n<html>\n<script>\nif (a) {\n  f();\n}\n```js\n});\n</script>\n</html>\n```\n"
    assert "  f();\n}\n});\n" in art(text).source


def test_fence_after_a_finished_document_opens_a_new_block() -> None:
    ex = extract(f"```html\n{DOC}```css\np {{ color: red; }}\n```\nbye")
    assert [b.lang for b in ex.blocks] == ["html", "css"]
    assert ex.artifact is not None and ex.artifact.complete and "color: red" in ex.artifact.source


def test_degenerate_repetition_is_kept_and_flagged() -> None:
    text = "```html\n<!DOCTYPE html><html><head>\n" + '<meta name="x">\n' * 500
    a = art(text)
    assert a.truncated and a.source.count('<meta name="x">') == 500


# -- no artifact ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the answer is empty"),
        ("  \n\n ", "the answer is empty"),
        ("Sorry, but I can't help with that.", "no renderable artifact in the answer"),
        ("Use this:\n```python\nprint('hi')\n```\n", "the answer holds only Python code"),
        ("```python\nimport os\n```\n```py\ndef f():\n    pass\n```\n", "the answer holds only Python code"),
        ("```css\nbody {\n  margin: 0;\n}\n```\n", "the answer holds only CSS, with no markup to show"),
        ("```bash\npip install x\n```\n", "the answer holds only shell code"),
    ],
)
def test_no_renderable_artifact(text: str, reason: str) -> None:
    ex = extract(text)
    assert ex.artifact is None and ex.reason == reason


# -- text survives --------------------------------------------------------------------------


def test_utf8_survives_byte_for_byte() -> None:
    doc = '<!DOCTYPE html>\n<html dir="rtl">\n<head><title>你好 🌍</title></head>\n<body>\n<p>שָׁלוֹם עולם — مرحبا 👩‍👩‍👧 e\u0301</p>\n</body>\n</html>\n'
    text = f"这是一个页面 😀:\n```html\n{doc}```\n谢谢!"
    a = art(text)
    assert a.source.encode("utf-8") == doc.encode("utf-8")
    assert a.title == "你好 🌍"
    ex, _ = stream(text, [1])
    assert ex.finish() == extract(text)


# -- streaming -------------------------------------------------------------------------------


SAMPLE = (
    "# My Page\r\nIntro ``` not a fence\r\n\r\n```html\r\n" + DOC.replace("\n", "\r\n") + "```\r\n"
    "### CSS (style.css)\n~~~css\np { color: blue; }\n~~~\nTrailing prose with ``` and <div> tags.\n"
)


@pytest.mark.parametrize("seed", range(6))
def test_any_chunking_gives_the_same_final_extraction(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [rng.randint(1, 9) for _ in range(64)]
    ex, _ = stream(SAMPLE, sizes)
    assert ex.text == SAMPLE
    assert ex.finish() == extract(SAMPLE)


def test_snapshots_never_show_prose_after_the_artifact_nor_a_fence_prefix() -> None:
    text = "Intro\n```html\n<!DOCTYPE html>\n<html>\n<p>a</p>\n</html>\n```\nAfter words here.\n"
    ex = StreamingExtractor()
    for i, ch in enumerate(text):
        ex.feed(ch)
        a = ex.snapshot().artifact
        if a is None:
            continue
        assert "After" not in a.source and "Intro" not in a.source
        assert not a.source.split("\n")[-1].strip().startswith(("`", "~")), (i, a.source)
    assert ex.finish().artifact is not None


def test_snapshot_is_cached_and_revision_bumps_only_on_change() -> None:
    ex = StreamingExtractor()
    ex.feed("Hello, here is a page.\n")
    s1 = ex.snapshot()
    assert s1.artifact is None and ex.revision == 0
    assert ex.snapshot() is s1
    ex.feed("```html\n<p>a</p>\n")
    r1 = ex.revision
    a1 = ex.snapshot().artifact
    assert a1 is not None and ex.revision == r1 + 1
    assert ex.snapshot() is ex.snapshot()
    assert ex.revision == r1 + 1
    s2 = ex.snapshot()
    ex.feed("<p>b")  # a line still growing is held back
    assert ex.snapshot() is s2
    ex.feed("</p>\n``")  # the line completes; "``" may be a fence marker
    a2 = ex.snapshot().artifact
    assert a2 is not None and "<p>a</p>\n<p>b</p>\n" in a2.source and ex.revision == r1 + 2
    r1 += 1
    ex.feed("`\nMore prose.\n")
    final = ex.finish()
    assert final.artifact is not None and final.artifact.complete
    assert ex.revision == r1 + 2  # complete flipped
    assert ex.snapshot() is final
    with pytest.raises(RuntimeError):
        ex.feed("x")


def test_to_json_shape() -> None:
    a = art(f"```html\n{DOC}```\n")
    j = a.to_json()
    assert set(j) == {"kind", "title", "truncated", "complete", "blocks"}
    assert j["blocks"] == [{"lang": "html", "tag": "html", "start": 8, "end": 8 + len(DOC), "closed": True}]
    json.dumps(j)


# -- standalone pages --------------------------------------------------------------------------


def test_standalone_html_adds_a_charset_only_when_missing() -> None:
    page = standalone_html(art(f"```html\n{DOC}```\n"))
    assert page.startswith('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">')
    with_cs = DOC.replace("<head>", '<head><meta charset="UTF-8">')
    assert standalone_html(art(f"```html\n{with_cs}```\n")) == with_cs


def test_standalone_svg_page() -> None:
    page = standalone_html(art("```svg\n<svg viewBox='0 0 4 4'><rect width='2' height='2'/></svg>\n```\n"))
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<svg viewBox='0 0 4 4'>" in page and "max-width" in page


def test_react_harness() -> None:
    comp = (
        "import React from 'react';\nimport { useDropzone } from \"react-dropzone\";\nimport './app.css';\n"
        "export default function App() {\n  return <p>{'</script><b>'}</p>;\n}\n"
    )
    page = standalone_html(art(f"## Dropper\n```jsx\n{comp}```\n"))
    imports = json.loads(page.split('<script type="importmap">', 1)[1].split("</script>", 1)[0])["imports"]
    for name, url in REACT_IMPORTS.items():
        assert imports[name] == url and "@" in url
    assert imports["react-dropzone"].startswith("https://esm.sh/react-dropzone")
    assert BABEL_URL in page and "@babel/standalone@" in BABEL_URL
    assert "</script><b>" not in page  # the module is embedded safely
    assert "app.css" not in page
    assert page.count("console.error(") == 1
    assert 'getElementById("root")' in page and "mod.default" in page
    assert '"typescript"' in page and '"react"' in page


_PIECES = [
    "```",
    "```html",
    "~~~",
    "````js",
    "```css\r\n",
    "\n",
    "\r\n",
    "<think>",
    "</think>",
    "<!DOCTYPE html>",
    "<html>",
    "</html>",
    "<svg>",
    "</svg>",
    "<div class='a'>",
    "</div>",
    ".a {",
    "  color: red;",
    "}",
    "# Title",
    "prose words ",
    "export default function A() { return <p/>; }",
    "import React from 'react';",
    "document.getElementById('c').getContext('2d');",
    "你好😀",
    "`",
    "``",
    "   ",
    "HTML:",
    "def f():",
]


@pytest.mark.parametrize("seed", range(40))
def test_random_answers_never_break_and_stream_the_same(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(_PIECES) + rng.choice(["", "\n", " "]) for _ in range(rng.randint(5, 80)))
    whole = extract(text)
    for b in whole.blocks:
        assert 0 <= b.start <= b.end <= len(text)
    sizes = [rng.randint(1, 6) for _ in range(32)]
    ex, snaps = stream(text, sizes)
    assert ex.finish() == whole
    for s in snaps:
        if s.artifact is not None:
            assert not s.artifact.truncated


def test_a_page_without_title_or_answer_heading_is_named_by_its_first_heading() -> None:
    doc = "```html\n<!DOCTYPE html>\n<html><body>\n<h1 class='t'>Monthly <b>sales</b> &amp; costs</h1>\n</body></html>\n```"
    art = extract("Here it is.\n\n" + doc).artifact
    assert art is not None and art.title == "Monthly sales & costs"
    fragment = extract("```html\n<div><h2>Stats</h2><p>1</p></div>\n```").artifact
    assert fragment is not None and fragment.title == "Stats"
