"""``apply_dirt``: corrupt a share of every file's rows and record each bad row in truth."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brightspots import schema
from brightspots.schema import Reason
from brightspots.synth.badrows import (
    CONFLICT,
    JUNK_TABLES,
    QUARANTINE_KINDS,
    REPEAT,
    add_junk,
    break_rules,
    plan,
)
from brightspots.synth.cascade import parent_cascade, self_cascade
from brightspots.synth.config import SynthError
from brightspots.synth.layout import file_order, newlines
from brightspots.synth.org import Org
from brightspots.synth.text import as_text, replace_at
from brightspots.synth.variations import CONFLICT_COLUMN, conflict_values, cosmetics


def apply_dirt(org: Org, *, fmt: str = "csv") -> Org:
    """Corrupt about ``config.dirty`` of the rows of every file, with every kind of bad row.

    Works on text: every column becomes a string column. Each bad row breaks exactly one rule.
    Rows that point at a bad row (and rows pointing at those) are recorded as
    ``missing_reference`` cascades. In ``teams`` and ``reps`` the bad rows are added stale records
    (a broken team or rep row would take a whole book of business with it); elsewhere existing
    rows are broken, so an account's opportunities and activities cascade. Conflicts and exact
    repeats copy rows that stay valid. About the same share of valid rows get harmless variations
    a real export has (capitalised enum values, timestamps with UTC offsets) and must import as
    they are. ``truth["dirty"]`` records every bad row by file and line: the 1-based physical line
    where the record starts, header = line 1 (values spanning lines count all their lines); for
    Parquet, the row number + 1.
    """
    return dirty_org(org, dict(org.tables), fmt)


def dirty_org(org: Org, clean: dict[str, pa.Table], fmt: str) -> Org:
    """``apply_dirt`` on ``clean``, a dict of typed tables it empties as it goes (memory)."""
    if fmt not in ("csv", "parquet"):
        raise SynthError(f"format must be csv or parquet, got {fmt!r}")
    rate = org.config.dirty
    rng = np.random.default_rng(np.random.SeedSequence(org.config.seed, spawn_key=(99,)))
    shapes = {name: (t.column(0)[0].as_py(), t.num_rows) for name, t in clean.items()}
    bad_keys: dict[str, pa.Array] = {}
    bad_rows: list[dict[str, Any]] = []
    repeats: list[dict[str, Any]] = []
    files: dict[str, dict[str, Any]] = {}
    tables: dict[str, pa.Table] = {}
    for name in schema.IMPORT_ORDER:
        if name not in clean:
            continue
        t = schema.table(name)
        file = f"{name}.{fmt}"
        cols = as_text(clean.pop(name))
        n = len(cols[t.key])
        want = plan(t, round(rate * n), rng)
        if name in JUNK_TABLES:
            cols = add_junk(t, cols, sum(want.get(k, 0) for k in QUARANTINE_KINDS), rng)
        m = len(cols[t.key])
        keys = cols[t.key]
        cause = parent_cascade(t, cols, bad_keys)
        pool = (cause < 0) & ((np.arange(m) >= n) if m > n else True)
        reason, column = break_rules(shapes, t, cols, pool, want, rng)
        bad = self_cascade(t, cols, keys, (reason >= 0) | (cause >= 0), cause)
        bad_keys[name] = pc.filter(keys, pa.array(bad))
        cascade = bad & (reason < 0)

        valid = np.flatnonzero(~bad[:n])
        n_conf, n_rep = want[CONFLICT], want[REPEAT]
        src = rng.choice(valid, min(len(valid), n_conf + n_rep), replace=False)
        conf_src, rep_src = np.sort(src[:n_conf]), np.sort(src[n_conf:])
        free = ~bad[:n]
        free[src] = False
        rest = np.flatnonzero(free)
        cosmetic = np.sort(rng.choice(rest, min(len(rest), round(rate * len(rest))), replace=False))
        cosmetics(t, cols, cosmetic, rng)

        extra = np.concatenate([conf_src, rep_src]).astype(np.int64)
        source, pos = file_order(n, m, extra, rng)
        final = {c: pc.take(cols[c], pa.array(source)) for c in t.column_names}
        conflict_col = CONFLICT_COLUMN[name]
        if len(conf_src):
            new = conflict_values(conflict_col, pc.take(cols[conflict_col], pa.array(conf_src)))
            final[conflict_col] = replace_at(final[conflict_col], pos[m : m + len(conf_src)], new)
        del cols
        tables[name] = pa.table([final[c] for c in t.column_names], names=t.column_names)

        if fmt == "csv":
            nl = newlines(final, len(source))
            start = 2 + np.arange(len(source)) + np.concatenate([[0], np.cumsum(nl)[:-1]])
        else:
            start = 2 + np.arange(len(source))
        line = start[pos]  # originals, added rows, then extras
        for i in np.flatnonzero(bad):
            own = reason[i] >= 0
            bad_rows.append(
                {
                    "file": file,
                    "line": int(line[i]),
                    "reason": str(QUARANTINE_KINDS[reason[i]] if own else Reason.MISSING_REFERENCE),
                    "column": t.column_names[column[i] if own else cause[i]],
                }
            )
        for j, s in enumerate(conf_src):
            bad_rows.append(
                {
                    "file": file,
                    "line": int(line[m + j]),
                    "reason": str(Reason.CONFLICT),
                    "column": conflict_col,
                    "first_line": int(line[s]),
                }
            )
        for j, s in enumerate(rep_src):
            repeats.append(
                {"file": file, "line": int(line[m + n_conf + j]), "first_line": int(line[s])}
            )
        by_reason = {str(k): int((reason == i).sum()) for i, k in enumerate(QUARANTINE_KINDS)}
        by_reason[str(Reason.MISSING_REFERENCE)] += int(cascade.sum())
        by_reason[str(Reason.CONFLICT)] = len(conf_src)
        files[file] = {
            "rows": len(source),
            "valid": int(m - bad.sum()),
            "quarantined": int(bad.sum()) + len(conf_src),
            "repeats": len(rep_src),
            "added_bad_rows": m - n,
            "cascaded": int(cascade.sum()),
            "cosmetic": len(cosmetic),
            "by_reason": {k: v for k, v in by_reason.items() if v},
        }
    order_of = {f"{name}.{fmt}": i for i, name in enumerate(schema.IMPORT_ORDER)}
    bad_rows.sort(key=lambda r: (order_of[r["file"]], r["line"]))
    repeats.sort(key=lambda r: (order_of[r["file"]], r["line"]))
    truth = dict(org.truth)
    truth["counts"] = {file: f["rows"] for file, f in files.items()}
    truth["dirty"] = {
        "rate": rate,
        "format": fmt,
        "line": "1-based physical line where the record starts, header = line 1 (values that "
        "span lines count all their lines); for Parquet, the row number + 1",
        "cascade_column": "for missing_reference cascades, the first reference column in "
        "schema order that points at a bad row",
        "files": files,
        "bad_rows": bad_rows,
        "repeats": repeats,
    }
    return replace(org, tables=tables, truth=truth)
