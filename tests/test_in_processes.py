"""``conftest.in_processes``: results in order, and warnings fail a test there as here."""

from __future__ import annotations

import warnings

import pytest

from conftest import in_processes


def test_results_come_back_in_order():
    assert in_processes(pow, [2, 3, 4, 5], [2, 2, 2, 3]) == [4, 9, 16, 125]


def test_a_warning_in_a_worker_is_an_error():
    with pytest.raises(UserWarning, match="boom"):
        in_processes(warnings.warn, ["boom"])


def test_a_warning_the_config_ignores_is_ignored_there_too():
    # pyproject.toml ignores this one (ibis reads a pandas option deprecated in pandas 3)
    ignored = "The 'future.infer_string' option is deprecated"
    assert in_processes(warnings.warn, [ignored]) == [None]


def test_each_call_runs_under_the_callers_filters_of_the_moment():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert in_processes(warnings.warn, ["boom"]) == [None]
    with pytest.raises(UserWarning, match="boom"):  # the same workers, the config's filters
        in_processes(warnings.warn, ["boom"])


def _blas_threads(case: int) -> list[int]:
    from brightspots import blas

    return [get() for get, _ in blas._openblas()]


def test_each_worker_runs_openblas_on_one_thread():
    # the workers take a core each: more BLAS threads would wait for each other's core
    for counts in in_processes(_blas_threads, range(4)):
        assert counts and all(n == 1 for n in counts), counts
