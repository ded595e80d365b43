"""The one anonymity choke point: no care figure about fewer than k respondents is shown.

Every care table passes through :func:`disclose` before it is stored. Primary suppression hides a
cell about fewer than k respondents; complementary suppression hides more cells so that no hidden
cell can be worked out by subtracting the shown children from their shown parent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from brightspots.errors import BrightspotsError

#: the least k allowed: with 2, either respondent could subtract their own answer
MIN_K = 3
#: the count columns blanked along with the value columns
COUNT_COLUMNS = ("responses", "respondents")


class DisclosureError(BrightspotsError, ValueError):
    """A disclosure setting or frame that breaks a rule (k below 3, a missing column)."""


def primary_reason(k: int) -> str:
    return f"Fewer than {k} respondents: not shown, to protect their anonymity."


def complementary_reason(k: int) -> str:
    return (
        f"Not shown, so that the answers of fewer than {k} respondents beside it cannot be "
        "worked out by subtraction from the total."
    )


def parent_reason(k: int) -> str:
    return (
        f"Not shown: every part of it is hidden, and its total would give away the answers of "
        f"fewer than {k} respondents."
    )


def sum_reason(k: int) -> str:
    return (
        "Not shown, so that the total above it, which is hidden, cannot be worked out by adding "
        f"up the parts (it would give away the answers of fewer than {k} respondents)."
    )


def check_k(k: object) -> int:
    """k as an int; anything but a whole number >= 3 is refused."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < MIN_K:
        raise DisclosureError(
            f"[care] min_respondents = {k!r}: it must be a whole number of at least {MIN_K} "
            "(fewer would let a respondent work out another's answers)"
        )
    return int(k)


def disclose(
    frame: pd.DataFrame,
    *,
    k: int,
    parent: str | None,
    value_cols: Sequence[str],
    key: str = "unit_id",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """The frame with ``suppressed`` set and the figures of suppressed cells blanked.

    ``frame``: one row per cell with ``respondents`` (NaN counts as 0), optional ``responses``
    and the ``value_cols``. Cells are grouped into separate trees by the columns ``by`` (e.g.
    source, window or quarter); within one tree ``key`` identifies a row and ``parent`` names the
    column holding its parent's key (``None``: primary suppression only).

    * Primary: a cell with fewer than ``k`` respondents is suppressed.
    * Complementary, within every parent (whether or not the parent row is shown): when the
      suppressed children with answers add up to 1 to k - 1 respondents, the shown child with
      the fewest respondents (ties: smallest key) is suppressed too, until the sum is 0 or at
      least k. If no shown child is left and the parent row is in the frame, the parent is
      suppressed.
    * Upward: a parent's answers are the sum of its children's, so a suppressed parent row whose
      children with answers are all shown could be worked out by adding them up (and, from it,
      a hidden sibling subtracted from the level above). The child with answers with the fewest
      respondents is suppressed too.
    * This is repeated until nothing changes, so a cell suppressed for one family counts in
      the others it belongs to.

    A suppressed row gets ``suppressed`` True, NULL in every value column and in responses and
    respondents, and ``reason`` (added when missing) saying why. Shown rows keep their values
    and their reason. Row order and index are kept. A parent key absent from the frame is a
    parent shown elsewhere: its children are protected all the same.
    """
    k = check_k(k)
    by = list(by)
    value_cols = list(value_cols)
    needed = ["respondents", *value_cols, *by]
    if parent is not None:
        needed += [key, parent]
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise DisclosureError(f"disclose: the frame lacks column(s) {', '.join(missing)}")
    out = frame.copy()
    resp = pd.to_numeric(out["respondents"], errors="coerce").fillna(0).to_numpy(dtype=float)
    if np.any(resp < 0):
        raise DisclosureError("disclose: respondents cannot be negative")
    suppressed = resp < k
    why = np.where(suppressed, primary_reason(k), None).astype(object)
    if parent is not None and len(out):
        _complementary(out, resp, suppressed, why, k=k, parent=parent, key=key, by=by)

    blank = [c for c in dict.fromkeys([*value_cols, *COUNT_COLUMNS]) if c in out.columns]
    for column in blank:
        out[column] = _blanked(out[column], suppressed)
    reasons = out["reason"].astype(object) if "reason" in out.columns else None
    if reasons is None:
        reasons = pd.Series([None] * len(out), index=out.index, dtype=object)
    out["reason"] = reasons.where(~suppressed, pd.Series(why, index=out.index, dtype=object))
    out["suppressed"] = suppressed
    return out


def _complementary(
    frame: pd.DataFrame,
    resp: np.ndarray,
    suppressed: np.ndarray,
    why: np.ndarray,
    *,
    k: int,
    parent: str,
    key: str,
    by: list[str],
) -> None:
    """Complementary suppression in place on ``suppressed`` and ``why`` (positional arrays)."""
    tree = (
        list(frame[by].astype(object).itertuples(index=False, name=None))
        if by
        else [()] * len(frame)
    )
    keys = frame[key].to_numpy(dtype=object)
    parents = frame[parent].to_numpy(dtype=object)
    has_parent = pd.notna(frame[parent]).to_numpy()
    row_of: dict[tuple, int] = {}
    for pos, (t, unit) in enumerate(zip(tree, keys, strict=True)):
        if (t, unit) in row_of:
            raise DisclosureError(f"disclose: key {unit!r} appears twice in one tree {t!r}")
        row_of[(t, unit)] = pos
    families: dict[tuple, list[int]] = {}
    for pos in np.flatnonzero(has_parent):
        families.setdefault((tree[pos], parents[pos]), []).append(int(pos))
    sort_key = {pos: (resp[pos], str(keys[pos])) for pos in range(len(frame))}
    changed = True
    while changed:
        changed = False
        for (t, up), children in families.items():
            while True:
                hidden = sum(resp[c] for c in children if suppressed[c] and resp[c] > 0)
                if hidden == 0 or hidden >= k:
                    break
                shown = [c for c in children if not suppressed[c]]
                if shown:
                    pick = min(shown, key=sort_key.__getitem__)
                    suppressed[pick], why[pick] = True, complementary_reason(k)
                    changed = True
                    continue
                up_pos = row_of.get((t, up))
                if up_pos is not None and not suppressed[up_pos]:
                    suppressed[up_pos], why[up_pos] = True, parent_reason(k)
                    changed = True
                break
            # a hidden parent whose children with answers are all shown is their sum: hide one
            up_pos = row_of.get((t, up))
            answered = [c for c in children if resp[c] > 0]
            if up_pos is not None and suppressed[up_pos] and answered:
                if not any(suppressed[c] for c in answered):
                    pick = min(answered, key=sort_key.__getitem__)
                    suppressed[pick], why[pick] = True, sum_reason(k)
                    changed = True


def _blanked(column: pd.Series, mask: np.ndarray) -> pd.Series:
    """The column with NULL where mask holds, in a dtype that can hold NULL."""
    if not mask.any():
        return column
    if pd.api.types.is_bool_dtype(column):
        return column.astype("boolean").mask(mask)
    if pd.api.types.is_integer_dtype(column):
        return column.astype("Int64").mask(mask)
    if pd.api.types.is_float_dtype(column):
        return column.mask(mask)
    return column.astype(object).where(~mask, None)
