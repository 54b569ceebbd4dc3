"""The one number formatter: its documented examples, and the texts metrics.json depends on."""
import doctest

from salign.common import result
from salign.common.stats import Duration, Rate
from salign.core import fmt


def test_the_documented_examples_hold():
    for module in (fmt, result):
        failed, tried = doctest.testmod(module)
        assert tried > 0 and failed == 0, module.__name__


def test_a_rate_reads_the_same_everywhere():
    # the Wilson interval of 21/50 by hand: centre (p + z²/2n)/(1 + z²/n), half-width z√(p(1-p)/n + z²/4n²)/(1 + z²/n)
    z, n, p = 1.959964, 50, 0.42
    d = 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / d
    expected = f"42.0% (21 of 50; 95% CI {centre - half:.1%}-{centre + half:.1%})"
    assert str(Rate(21, 50)) == expected == fmt.rate(21, 50, centre - half, centre + half)
    assert str(Rate(0, 0)) == "n/a (0 of 0)" and fmt.rate(3, 4) == "75.0% (3 of 4)"


def test_durations_say_not_reached_and_count_censoring():
    d = Duration(n=10, events=4, median=None, median_ci=(12.0, None), p90=None, p90_ci=(None, None))
    assert str(d) == ("median not reached hours (95% CI 12.0-not reached), p90 not reached (95% CI not reached-"
                      "not reached); 4 of 10 observed, 6 censored")


def test_cut_points_and_rule_bounds():
    assert [fmt.cut(x) for x in (1000.0, 0.25, 12.345)] == ["1,000", "0.25", "12.3"]
    assert [fmt.exact(x) for x in (1000.0, 2500.5, 0.125)] == ["1,000", "2,500.5", "0.125"]
    assert [fmt.p_value(p) for p in (0.5, 0.0004, 0.00001, float("nan"))] == ["0.500", "0.0004", "< 0.0001", "n/a"]
