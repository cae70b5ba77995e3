"""The artifact contract given to the model."""

from studio.core.prompts import system_prompt


def test_default_prompt_asks_for_one_self_contained_html_block() -> None:
    text = system_prompt()
    assert "exactly one ```html code block" in text
    assert "Never split it" in text
    assert "Do not load scripts" in text  # no network without the offline pack
    assert 'fetch("data/<file name>")' in text


def test_libraries_and_extra_instructions_are_configurable() -> None:
    text = system_prompt(["Chart.js 4.4.1", "three.js r160"], extra="Answer in French.")
    assert "Chart.js 4.4.1, three.js r160" in text
    assert "Do not load scripts" not in text
    assert text.endswith("Answer in French.")


def test_changes_are_asked_for_as_search_replace_blocks_with_an_example() -> None:
    from studio.core.patch import apply_blocks, parse_blocks

    text = system_prompt()
    assert "complete updated file again" not in text  # the old "always rewrite" rule is gone
    assert "SEARCH/REPLACE" in text and "only for a new artifact or when most of it changes" in text
    example = parse_blocks(text)
    assert len(example) == 1  # the example is a block the app itself can apply
    page = '<script>\n  function draw() {\n    ctx.fillStyle = "red";\n  }\n</script>\n'
    assert 'ctx.fillStyle = "blue";' in apply_blocks(page, example).text


def test_the_prompt_names_the_model_api_briefly() -> None:
    from studio.core.prompts import MODEL_API

    text = system_prompt()
    assert MODEL_API in text and "window.studio.complete(" in text and "window.studio.stream(" in text
    assert len(MODEL_API) < 300  # every token costs time to first token on a small model
