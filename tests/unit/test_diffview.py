"""The line diff behind the Diff tab (no QApplication needed)."""

from __future__ import annotations

from studio.ui.diffview import diff_html, diff_stats, line_diff


def test_line_diff_counts_and_marks_changes() -> None:
    old = "<p>a</p>\n<p>b</p>\n<p>c</p>\n"
    new = "<p>a</p>\n<p>B & b</p>\n<p>c</p>\n<p>d</p>\n"
    lines = line_diff(old, new, "v1", "v2")
    assert lines[:2] == ["--- v1", "+++ v2"]
    assert "-<p>b</p>" in lines and "+<p>B & b</p>" in lines and "+<p>d</p>" in lines
    stats = diff_stats(lines)
    assert (stats.added, stats.removed) == (2, 1)
    html = diff_html(lines)
    assert "&lt;p&gt;B &amp; b&lt;/p&gt;" in html  # escaped
    assert "#e6ffec" in html and "#ffebe9" in html
    assert "--- v1" not in html


def test_identical_sources_have_no_diff() -> None:
    assert line_diff("x\n", "x\n") == []
    assert "No differences" in diff_html([])
