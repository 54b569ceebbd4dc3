"""Issue 14: the scorecard bins each training column once across its ways of binning, and builds the
indicator matrix directly. The expectations are written out by hand from the fixtures."""
import numpy as np
import pandas as pd

from salign.qualify.scorecard import _Binned, one_hot
from salign.scoring.bins import BinSpec


def test_one_hot_puts_one_in_each_feature_block():
    specs = [BinSpec("a", "categorical", levels=("x", "y")),  # 4 bins: x, y, other, missing
             BinSpec("b", "numeric", edges=(1.0,))]            # 3 bins: below 1, 1 or more, missing
    codes = np.array([[0, 2], [3, 0], [1, 1]], dtype=np.int32)
    m = one_hot(codes, specs)
    expected = np.array([[1, 0, 0, 0, 0, 0, 1],
                         [0, 0, 0, 1, 1, 0, 0],
                         [0, 1, 0, 0, 0, 1, 0]], dtype=float)
    assert m.shape == (3, 7)
    assert (m.toarray() == expected).all()
    assert m.has_canonical_format and m.indices.dtype == np.int32 and m.indptr.tolist() == [0, 2, 4, 6]


def test_category_bins_follow_the_smallest_level_each_time():
    X = pd.DataFrame({"c": ["a", "a", "b", np.nan, "a", "b", "c"]})
    binned = _Binned(X, {"c": "categorical"})
    spec, codes = binned.spec_and_codes("c", 2)  # a (3 leads) and b (2) have bins; c is "other" (2); NaN missing (3)
    assert spec.levels == ("a", "b")
    assert codes.tolist() == [0, 0, 1, 3, 0, 1, 2]
    spec, codes = binned.spec_and_codes("c", 3)  # the same column, asked again with a higher bar: only a
    assert spec.levels == ("a",)
    assert codes.tolist() == [0, 0, 1, 2, 0, 1, 1]
    spec, codes = binned.spec_and_codes("c", 4)  # no value held by 4 leads: two bins, no codes needed
    assert spec.levels == () and codes is None


def test_numeric_bins_are_worked_out_once():
    X = pd.DataFrame({"n": np.arange(100, dtype=float)})
    binned = _Binned(X, {"n": "numeric"})
    first = binned.spec_and_codes("n", 20)
    assert binned.spec_and_codes("n", 50) is first  # a numeric feature's ranges ignore the category bar
    spec, codes = first
    # 100 values 0..99: the cuts leave at least 30 values (the fewest a range holds) in each range
    assert spec.n_bins > 2
    assert codes.min() == 0 and codes.max() == len(spec.edges)
    assert np.bincount(codes).min() >= 30
