"""``bench/RESULTS.md``: one section per benchmark, each a Markdown table; rows are appended at
the end of their own section."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = "# Benchmark results\n\nFigures appended by the benchmarks in `bench/`, newest last.\n"


def append_row(section: str, header: str, row: list[str], path: Path = RESULTS) -> None:
    """Append ``row`` to the table under ``## section`` (made with ``header`` when new)."""
    text = path.read_text() if path.exists() else TITLE
    line = "| " + " | ".join(row) + " |"
    title = f"## {section}"
    if title not in text:
        text = text.rstrip("\n") + f"\n\n{title}\n\n{header.rstrip()}\n{line}\n"
    else:
        start = text.index(title)
        nxt = text.find("\n## ", start + len(title))
        end = len(text) if nxt < 0 else nxt
        body = text[start:end].rstrip("\n") + "\n" + line + "\n"
        text = text[:start] + body + ("\n" + text[end:].lstrip("\n") if nxt >= 0 else "")
    path.write_text(text)
