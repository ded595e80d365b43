"""bench/RESULTS.md: rows go to the end of their own section."""

from __future__ import annotations

from bench.results import append_row


def test_rows_go_under_their_own_section(tmp_path):
    path = tmp_path / "RESULTS.md"
    append_row("A", "| x |\n|---|\n", ["1"], path)
    append_row("B", "| y |\n|---|\n", ["2"], path)
    append_row("A", "| x |\n|---|\n", ["3"], path)
    append_row("B", "| y |\n|---|\n", ["4"], path)
    text = path.read_text()
    a, b = text.index("## A"), text.index("## B")
    assert a < b
    assert text[a:b].split("\n")[2:6] == ["| x |", "|---|", "| 1 |", "| 3 |"]
    assert text[b:].split("\n")[2:6] == ["| y |", "|---|", "| 2 |", "| 4 |"]
    assert text.count("## A") == 1 and text.count("## B") == 1
