"""The case-mix designs of the practice models, each built once and kept: the analyses of most
practices share their deals (the deals reaching the landmark, all deals), so their designs are
the same (``design.nuisance_design`` of the same rows)."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pandas as pd

from brightspots import casemix
from brightspots.practices.effects.design import nuisance_design, prepared
from brightspots.practices.effects.logit import stack_columns
from brightspots.practices.effects.weights import WEIGHT

#: designs kept for reuse by ``Designs`` (each is deals x terms floats: 120 MB at 500,000 deals)
KEPT_DESIGNS = 3
#: free columns after each kept design, for the practice terms of a model (the segment model's
#: with up to four segments)
SPARE = 7


class Designs:
    """``nuisance_design`` for row subsets of one frame, each built once: the analyses of most
    practices share their deals (the deals reaching the landmark, all deals), so their designs
    are the same. The covariate columns are coded as integers once; a subset's covariate cells
    are counted from the codes (the same cells, in the same order, as grouping the values).

    Each design is kept in a column-major array with ``SPARE`` free columns after it, where
    ``stacked`` writes the practice terms of a model: a model's design matrix is then written
    without copying the case-mix part again. The last ``keep`` designs are kept.

    ``frame`` must have a default index (0, 1, ...): subsets are named by their index."""

    def __init__(self, frame: pd.DataFrame, pool_min_cases: int, keep: int = KEPT_DESIGNS) -> None:
        if not frame.index.equals(pd.RangeIndex(len(frame))):
            raise ValueError("Designs needs a frame with a default index (0, 1, ...)")
        self.frame = frame
        self.pool_min_cases = pool_min_cases
        self.keep = keep
        self._sorted: dict[str, casemix.Coded] = {}
        #: key -> (array of the design and the spare columns, number of design columns)
        self._kept: OrderedDict[tuple[tuple[str, ...], bytes], tuple[np.ndarray, int]] = (
            OrderedDict()
        )

    def design(self, sub: pd.DataFrame, covariates: list[str]) -> np.ndarray:
        """``nuisance_design(sub, covariates, pool_min_cases)`` as an array, for ``sub``, rows
        of ``frame``. Read only: the same array is handed out again for the same rows."""
        if not covariates:  # the constant alone: nothing worth keeping
            return nuisance_design(sub, covariates, self.pool_min_cases).to_numpy(float)
        buffer, k = self._buffer(sub, covariates)
        X = buffer[:, :k]
        X.flags.writeable = False
        return X

    def stacked(self, sub: pd.DataFrame, covariates: list[str], *blocks: np.ndarray) -> np.ndarray:
        """``logit.stack_columns(design(sub, covariates), *blocks)``: column-major, the same
        numbers. It may be written in the kept design's spare columns, so it is only good until
        the next call, and must not be written to."""
        parts = [b[:, None] if b.ndim == 1 else b for b in blocks]
        extra = sum(b.shape[1] for b in parts)
        if not covariates or extra > SPARE:
            return stack_columns(self.design(sub, covariates), *parts)
        buffer, k = self._buffer(sub, covariates)
        j = k
        for b in parts:
            buffer[:, j : j + b.shape[1]] = b
            j += b.shape[1]
        return buffer[:, :j]

    def _buffer(self, sub: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, int]:
        rows = sub.index.to_numpy(dtype=np.int64)
        key = (tuple(covariates), rows.tobytes())
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        self._kept[key] = found = self._build(sub, rows, covariates)
        while len(self._kept) > self.keep:
            self._kept.popitem(last=False)
        return found

    def _build(
        self, sub: pd.DataFrame, rows: np.ndarray, covariates: list[str]
    ) -> tuple[np.ndarray, int]:
        coded = [self._coded(c) for c in covariates]
        codes = [c.codes[rows] for c in coded]
        sizes = [max(len(c.values), 1) for c in coded]
        if any((c < 0).any() for c in codes) or math.prod(sizes) >= 2**62:
            # a missing value (never, once validated), or too many cells for one integer key
            X = nuisance_design(sub, covariates, self.pool_min_cases).to_numpy(float)
            return stack_columns(X, np.empty((len(rows), SPARE))), X.shape[1]
        cell_ids, inverse = np.unique(np.ravel_multi_index(codes, sizes), return_inverse=True)
        # the cells sorted by their values (codes follow the sorted values); categorical
        # covariates as pandas categoricals, which ``casemix.prepare`` groups and sorts by code
        cells: dict[str, object] = {}
        columns: dict[str, casemix.Coded | np.ndarray] = {}
        parts = np.unravel_index(cell_ids, sizes)
        for name, c, part, cd in zip(covariates, coded, parts, codes, strict=True):
            if casemix.COVARIATES[name].kind == "categorical":
                cells[f"x_{name}"] = pd.Categorical.from_codes(part, categories=c.values)
                columns[name] = casemix.Coded(cd, c.values)
            else:
                cells[f"x_{name}"] = c.values[part].astype(float)
                columns[name] = sub[f"x_{name}"].to_numpy(float)
        if WEIGHT in sub.columns:  # a grouped frame: each row counts as its deals
            deals = np.bincount(inverse, weights=sub[WEIGHT].to_numpy(float))
            cells["n"] = deals.round().astype(np.int64)
        else:
            cells["n"] = np.bincount(inverse, minlength=len(cell_ids))
        model = prepared(pd.DataFrame(cells), covariates, self.pool_min_cases, ordered=True)
        terms = model.design_columns(columns, len(rows))
        kept = [v for name, v in terms.items() if name == "const" or np.ptp(v) > 0]
        X = np.empty((len(rows), len(kept) + SPARE), order="F")
        for j, v in enumerate(kept):
            X[:, j] = v
        return X, len(kept)

    def _coded(self, name: str) -> casemix.Coded:
        if name not in self._sorted:
            self._sorted[name] = casemix.code(self.frame[f"x_{name}"], sort=True)
        return self._sorted[name]
