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


def test_like_for_like_leaves_out_only_the_steps_pandas_does_not_do():
    from bench.analyze import HEADER, like_for_like

    steps = [("preparing", 0.0), ("practices", 10.0), ("key accounts", 25.0), ("care", 31.0),
             ("saving the run", 33.0), ("done", 40.0)]  # fmt: skip
    # practices 15 s, key accounts 6 s, care 2 s: 23 s of a 45 s run are not comparable
    assert like_for_like(steps, 45.0) == 22.0
    assert like_for_like([], 45.0) == 45.0
    # every header row has as many cells as the separator
    head, sep = HEADER.strip().split("\n")
    assert head.count("|") == sep.count("|")


def test_the_benchmark_links_the_immutable_generations_and_copies_the_rest(tmp_path):
    import shutil

    from bench.analyze import _link_generation

    src = tmp_path / "ws"
    (src / "db").mkdir(parents=True)
    (src / "db" / "000002.duckdb").write_bytes(b"generation")
    (src / "brightspots.toml").write_text("[workspace]\n")
    dst = tmp_path / "copy"
    shutil.copytree(src, dst, copy_function=_link_generation)
    gen, toml = dst / "db" / "000002.duckdb", dst / "brightspots.toml"
    assert gen.stat().st_ino == (src / "db" / "000002.duckdb").stat().st_ino
    assert toml.stat().st_ino != (src / "brightspots.toml").stat().st_ino
    toml.write_text("[duckdb]\n")  # the copy's settings are its own
    assert (src / "brightspots.toml").read_text() == "[workspace]\n"
