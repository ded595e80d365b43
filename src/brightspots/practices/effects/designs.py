"""The case-mix designs of the practice models, each built once and kept: the analyses of most
practices share their deals (the deals reaching the landmark, all deals), so their designs are
the same (``design.nuisance_design`` of the same rows).

A design of more than ``DENSE_VALUES`` numbers is not held as a matrix: it is ``BuiltRows``,
its covariates' compact columns (integer codes, numeric values) and the practice terms, its
rows made a block at a time by each pass of a fit (``logit.Rows``). Above a few million rows
the matrix (and the copies a fit would make of it) is what would not fit in memory."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

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
#: designs with more numbers (rows x columns) than this are ``BuiltRows`` (256 MB as a matrix)
DENSE_VALUES = 1 << 25


@dataclass(frozen=True)
class BuiltRows:
    """A case-mix design, and practice terms after it, whose rows are made when a fit asks for
    them (``logit.Rows``): the covariates' columns for the rows (``inputs``: a categorical one
    as ``casemix.Coded``, a numeric one as its values), the model coding them, the positions of
    its terms that are kept (not constant over all the rows), the practice terms (``extra``,
    one column each) and the columns selected (``keep``; None: all)."""

    model: casemix.CaseMixModel
    inputs: dict[str, casemix.Coded | np.ndarray]
    n_rows: int
    terms: tuple[int, ...]
    extra: tuple[np.ndarray, ...] = ()
    keep: tuple[int, ...] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        width = len(self.terms) + len(self.extra) if self.keep is None else len(self.keep)
        return (self.n_rows, width)

    def block(self, a: int, b: int) -> np.ndarray:
        inputs = {
            name: casemix.Coded(c.codes[a:b], c.values) if isinstance(c, casemix.Coded) else c[a:b]
            for name, c in self.inputs.items()
        }
        wanted = set(self.terms)
        X = np.empty((b - a, len(self.terms) + len(self.extra)), order="F")
        j = 0
        for i, (_, v) in enumerate(self.model.design_terms(inputs, b - a)):
            if i in wanted:
                X[:, j] = v
                j += 1
        for v in self.extra:
            X[:, j] = v[a:b]
            j += 1
        return X if self.keep is None else np.asfortranarray(X[:, list(self.keep)])

    def columns(self, keep: list[int]) -> BuiltRows:
        chosen = tuple(keep) if self.keep is None else tuple(self.keep[i] for i in keep)
        return BuiltRows(self.model, self.inputs, self.n_rows, self.terms, self.extra, chosen)

    def take(self, mask: np.ndarray) -> BuiltRows:
        inputs = {
            name: casemix.Coded(c.codes[mask], c.values)
            if isinstance(c, casemix.Coded)
            else c[mask]
            for name, c in self.inputs.items()
        }
        extra = tuple(v[mask] for v in self.extra)
        n = int(np.count_nonzero(mask))
        return BuiltRows(self.model, inputs, n, self.terms, extra, self.keep)

    def with_terms(self, *blocks: np.ndarray) -> BuiltRows:
        """This design (all its columns) with ``blocks`` (1-D, or 2-D: a term per column) as
        further terms after its own."""
        flat: list[np.ndarray] = []
        for b in blocks:
            cols = [b] if b.ndim == 1 else [b[:, j] for j in range(b.shape[1])]
            flat.extend(np.ascontiguousarray(c, dtype=float) for c in cols)
        if self.keep is not None:
            raise ValueError("with_terms needs a design with all its columns")
        return BuiltRows(self.model, self.inputs, self.n_rows, self.terms, (*self.extra, *flat))


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

    def design(self, sub: pd.DataFrame, covariates: list[str]) -> np.ndarray | BuiltRows:
        """``nuisance_design(sub, covariates, pool_min_cases)`` as an array (``BuiltRows`` above
        ``DENSE_VALUES``), for ``sub``, rows of ``frame``. Read only: the same array is handed
        out again for the same rows."""
        if not covariates:  # the constant alone: nothing worth keeping
            return nuisance_design(sub, covariates, self.pool_min_cases).to_numpy(float)
        built, k = self._buffer(sub, covariates)
        if isinstance(built, BuiltRows):
            return built
        X = built[:, :k]
        X.flags.writeable = False
        return X

    def stacked(
        self, sub: pd.DataFrame, covariates: list[str], *blocks: np.ndarray
    ) -> np.ndarray | BuiltRows:
        """``logit.stack_columns(design(sub, covariates), *blocks)``: column-major, the same
        numbers (``BuiltRows`` with the blocks as further terms above ``DENSE_VALUES``). It may
        be written in the kept design's spare columns, so it is only good until the next call,
        and must not be written to."""
        parts = [b[:, None] if b.ndim == 1 else b for b in blocks]
        extra = sum(b.shape[1] for b in parts)
        if not covariates:
            return stack_columns(self.design(sub, covariates), *parts)
        built, k = self._buffer(sub, covariates)
        if isinstance(built, BuiltRows):
            return built.with_terms(*parts)
        if extra > built.shape[1] - k:
            return stack_columns(built[:, :k], *parts)
        j = k
        for b in parts:
            built[:, j : j + b.shape[1]] = b
            j += b.shape[1]
        return built[:, :j]

    def _buffer(
        self, sub: pd.DataFrame, covariates: list[str]
    ) -> tuple[np.ndarray | BuiltRows, int]:
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
    ) -> tuple[np.ndarray | BuiltRows, int]:
        coded = [self._coded(c) for c in covariates]
        every = len(rows) == len(self.frame) and bool((rows == np.arange(len(rows))).all())
        codes = [c.codes if every else c.codes[rows] for c in coded]
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
        if len(rows) * (model.n_terms() + SPARE) > DENSE_VALUES:
            return _built_rows(model, columns, len(rows))
        # each term written into the array as it is made (constant terms left out): the
        # columns beyond the kept ones are spare
        X = np.empty((len(rows), model.n_terms() + SPARE), order="F")
        k = 0
        for _, v in _varying_terms(model, columns, len(rows)):
            X[:, k] = v
            k += 1
        return X, k

    def clear(self) -> None:
        """Forget the kept designs (their memory is freed once no fit holds them)."""
        self._kept.clear()

    def _coded(self, name: str) -> casemix.Coded:
        """The column's codes (in the sorted order of its values), in the smallest integer type
        that holds them."""
        if name not in self._sorted:
            c = casemix.code(self.frame[f"x_{name}"], sort=True)
            self._sorted[name] = casemix.Coded(c.codes.astype(_small(c.values)), c.values)
        return self._sorted[name]


def _built_rows(
    model: casemix.CaseMixModel, columns: dict[str, casemix.Coded | np.ndarray], n: int
) -> tuple[BuiltRows, int]:
    """The design as ``BuiltRows``: its terms made once, one at a time, to find those that vary
    (``_varying_terms``)."""
    terms = tuple(i for i, _ in _varying_terms(model, columns, n))
    return BuiltRows(model, columns, n, terms), len(terms)


def _varying_terms(
    model: casemix.CaseMixModel, columns: dict[str, casemix.Coded | np.ndarray], n: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(position, column) of the design's terms that a model keeps: the constant, and every
    term that is not constant over the rows; made one at a time."""
    for i, (name, v) in enumerate(model.design_terms(columns, n)):
        if name == "const" or np.ptp(v) > 0:
            yield i, v


def _small(values: np.ndarray) -> np.dtype:
    """The smallest signed integer type holding codes -1 to len(values) - 1."""
    return np.min_scalar_type(-max(len(values), 1))
