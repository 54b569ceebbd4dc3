"""The figures' registry (issue 13 item 1): each figure named once, the pages take their names from it, and the index
draws a trend for every figure two periods report (the slow end-to-end check is tests/test_one_number.py)."""
from __future__ import annotations

from salign.common import metrics
from salign.common.stats import Rate
from salign.report.cards import headline_cards
from salign.report.index import index_body
from salign.review import changes, trend


def test_no_two_figures_share_a_name():
    names = [m.name.lower() for m in metrics.METRICS.values()]
    assert len(names) == len(set(names))


def test_the_honest_variants_have_names_of_their_own_and_say_how_they_differ():
    assert metrics.name("mql_to_sql") == "MQL to SQL"
    assert metrics.name("mql_to_sql_matured") == "MQL to SQL, matured"
    assert "MQL to SQL" in metrics.get("mql_to_sql_matured").definition  # it says what it differs from
    assert metrics.name("win_rate") == "Win rate of closed deals"
    assert "Opportunities won within 90 days" in metrics.get("win_rate").definition
    assert "closed deals" in metrics.get("opportunity_to_won").definition


def test_the_change_table_and_the_trend_use_the_registry_names():
    assert changes.FIGURES["follow_up_within_sla"][2] == "Followed up within the SLA"
    assert changes.FIGURES["mql_to_sql"][2] == "MQL to SQL"
    assert changes.FIGURES["hours_to_first_follow_up"][1] is False  # lower is better, as the registry says
    assert trend.SERIES[trend.MATURED][1] == "MQL to SQL, matured"
    assert trend.SERIES["rejections_without_reason"][0] is False


def test_cards_take_their_label_from_the_registry_and_keep_their_key():
    cards = headline_cards({"notebooks": {"04_quarterly_review": {"headline": {
        "follow_up_within_sla": Rate(8, 10).as_dict(), "warning_signs": 3}}}})
    assert [(c.label, c.key) for c in cards] == [("Followed up within the SLA", "follow_up_within_sla"),
                                                 ("Warning signs", "warning_signs")]


def _period(auc: float, hours_now: float, hours_before: float, metric: str = "hours_to_first_follow_up") -> dict:
    return {"workspace_fingerprint": "x", "notebooks": {
        "03_qualification": {"headline": {"qualification_model_auc": auc}},
        "04_quarterly_review": {"headline": {"biggest_change": {
            "value": hours_now, "previous": hours_before, "change_significant": True, "higher_is_better": False,
            "metric": metric, "label": f"Biggest change: {metric}"}}}}}


def test_the_index_draws_a_trend_for_a_figure_whose_label_is_not_its_key():
    """Both periods report the model's AUC (a plain label) and the biggest change (a label naming its metric): each
    gets a sparkline, not 'no trend yet: only one period has this figure'."""
    body = str(index_body({"2026Q2": _period(0.786, 7.39, 2.66), "2026Q3": _period(0.784, 2.46, 7.39)}))
    assert "only one period has this figure" not in body
    assert body.count("<svg class='spark'") == 2
    assert "2026Q2 7.39, 2026Q3 2.46" in body  # the biggest change's line: each period's own value


def test_the_biggest_change_is_not_drawn_across_different_figures():
    body = str(index_body({"2026Q2": _period(0.786, 0.5, 0.4, metric="win_rate"),
                           "2026Q3": _period(0.784, 2.46, 7.39)}))
    assert body.count("<svg class='spark'") == 1  # the AUC only
    assert "in the earlier periods the biggest change was another figure" in body
