"""Step 1 on transaction data: accounts that are only an id, opportunities that are purchases (won deals with an
amount and a date). Behaviour is derived from the purchases; numbers written as text are read as numbers; a value
that is the same for everyone is not split; a tie at a cut-off is reported.

Every expectation comes from how the fixtures are built (planted groups, hand-computed figures), not from the code.
"""
from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salign import cli, personas
from salign.core import paths
from salign.personas import profiles
from salign.personas.markers import Markers
from salign.report.html import result_html
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData

WORKSPACE_YAML = """\
    name: Purchases only
    timezone: UTC
    fiscal_year_start_month: 1
    currency: USD
    as_of: "2025-07-01"
    tables:
      accounts: accounts.csv
      opportunities: opportunities.csv
    """
AS_OF = pd.Timestamp("2025-07-01", tz="UTC")
N_CUSTOMERS, N_LOYAL = 400, 100


def write_purchases(folder: Path, purchases: list[tuple[str, str, float]], accounts: pd.DataFrame | None = None,
                    workspace_yaml: str = WORKSPACE_YAML) -> Path:
    """A workspace of ``accounts.csv`` (only ``account_id`` unless given) and won deals (account, day, amount)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workspace.yaml").write_text(textwrap.dedent(workspace_yaml), encoding="utf-8")
    if accounts is None:
        accounts = pd.DataFrame({"account_id": sorted({a for a, _, _ in purchases})})
    accounts.to_csv(folder / "accounts.csv", index=False)
    rows = [{"opportunity_id": f"O{i:05d}", "created_at": f"{day}T00:00:00Z", "stage": "Closed Won", "outcome": "won",
             "account_id": a, "closed_at": f"{day}T00:00:00Z", "amount": amount}
            for i, (a, day, amount) in enumerate(purchases)]
    pd.DataFrame(rows).to_csv(folder / "opportunities.csv", index=False)
    return folder


def planted(seed: int = 12) -> tuple[list[tuple[str, str, float]], set[str]]:
    """400 customers; 100 'loyal' ones make a large first purchase (2,000-5,000) and buy 2-3 times more within
    90 days (500-1,500 each); the other 300 make a small first purchase (50-500) and do not buy again within 90 days.
    Both groups then buy 0-3 more times, at random after day 120, and start on a random day of 2023-2024, so the
    tenure says nothing about value.

    By construction a loyal customer's revenue is at least 2,000 + 2 x 500 = 3,000 and another's at most
    500 + 3 x 300 = 1,400: the top 100 by value are the loyal ones, so the best 20% (80) are all loyal and the
    worst 20% (80) all not.
    """
    rng = np.random.default_rng(seed)
    ids = [f"C{i:04d}" for i in range(1, N_CUSTOMERS + 1)]
    loyal = set(rng.choice(ids, N_LOYAL, replace=False).tolist())
    start, span = pd.Timestamp("2023-01-01"), 730
    out = []
    for a in ids:
        first = start + pd.Timedelta(days=int(rng.integers(0, span)))
        days_left = (AS_OF.tz_localize(None) - first).days
        if a in loyal:
            out.append((a, first, float(rng.integers(2000, 5001))))
            for d in sorted(rng.choice(np.arange(5, 86), int(rng.integers(2, 4)), replace=False)):
                out.append((a, first + pd.Timedelta(days=int(d)), float(rng.integers(500, 1501))))
            later = (200, 601)
        else:
            out.append((a, first, float(rng.integers(50, 501))))
            later = (50, 301)
        for _ in range(int(rng.integers(0, 4))):
            out.append((a, first + pd.Timedelta(days=int(rng.integers(120, days_left))), float(rng.integers(*later))))
    return [(a, d.strftime("%Y-%m-%d"), x) for a, d, x in out], loyal


@pytest.fixture(scope="module")
def transactions(tmp_path_factory) -> tuple[Path, set[str]]:
    purchases, loyal = planted()
    return write_purchases(tmp_path_factory.mktemp("tx") / "ws", purchases), loyal


# -- 1: the page does not crash on a level table without rows -----------------------------------------------------


def test_markers_without_levels_render_instead_of_crashing():
    # before: Markers._display raised KeyError: 'attribute' on a level table without columns
    m = Markers(pd.DataFrame(), {"customers": 3, "best": 1, "worst": 1}, 0.05)
    html = result_html(m)
    assert "Marks of a long-term, profitable relationship (0)" in html and "Warning signs (0)" in html
    assert m.metrics()["marks"] == [] and m.headline() == {"best_customer_marks": 0, "warning_signs": 0}


def test_purchases_alone_no_longer_leave_nothing_to_test(tmp_path):
    # one purchase each, created and closed the same day, no lost deal: before, 'no attribute level to test'
    purchases = [(f"C{i:02d}", f"2024-{1 + i % 12:02d}-10", float(100 * (1 + i % 4))) for i in range(12)]
    v = personas.customer_value(load_workspace(write_purchases(tmp_path / "ws", purchases)))
    m = personas.markers(v)
    assert set(m.table["attribute"]) >= {"first_purchase_value"}
    result_html(m)


# -- 2: behaviour derived from the purchases ---------------------------------------------------------------------


def test_derived_purchase_behaviour_is_hand_computed(tmp_path):
    purchases = [("A", "2025-01-01", 100.0), ("A", "2025-01-01", 50.0), ("A", "2025-02-15", 30.0),
                 ("A", "2025-06-01", 20.0),  # the 15th of Feb (45 days) is within 90 days; the 1st of Jun (151) not
                 ("B", "2024-07-01", 500.0),
                 ("C", "2025-05-01", 80.0), ("C", "2025-05-20", 10.0)]  # first purchase 61 days before the cut-off
    v = personas.customer_value(load_workspace(write_purchases(tmp_path / "ws", purchases)))
    c = v.customers.set_index("account_id")
    assert c["first_purchase_value"].to_dict() == {"A": 150.0, "B": 500.0, "C": 80.0}
    assert c.at["A", "purchases_first_90_days"] == 3 and c.at["B", "purchases_first_90_days"] == 1
    assert np.isnan(c.at["C", "purchases_first_90_days"])  # its 90 days are not over at the cut-off
    assert c["tenure_days"].to_dict() == {"A": 181, "B": 365, "C": 61}  # to 2025-07-01
    assert c["recency_days"].to_dict() == {"A": 30, "B": 365, "C": 42}
    assert v.metrics()["derived"] == ["first_purchase_value", "purchases_first_90_days", "tenure_days",
                                      "recency_days"]


def test_derived_behaviour_only_without_account_attributes(tiny_workspace):
    # the tiny workspace's accounts carry attributes: nothing is derived and its metrics keep their keys
    v = personas.customer_value(load_workspace(tiny_workspace))
    assert "first_purchase_value" not in v.customers.columns and "derived" not in v.metrics()


def test_planted_best_customers_are_recovered_from_purchases_alone(transactions):
    ws, loyal = transactions
    v = personas.customer_value(load_workspace(ws))
    c = v.customers
    assert len(c) == N_CUSTOMERS and c["best"].sum() == 80 and c["worst"].sum() == 80
    assert set(c.loc[c["best"], "account_id"]) <= loyal and not set(c.loc[c["worst"], "account_id"]) & loyal
    m = personas.markers(v)

    def loyal_share(rows):
        return [(r["attribute"], r["level"], c.loc[r["mask"], "account_id"].isin(loyal).mean(), int(r["n"]))
                for _, r in rows.iterrows()]

    marks, warnings = loyal_share(m.marks), loyal_share(m.warnings)
    # a large first purchase and buying again within 90 days mark the best: levels held (almost) only by loyal ones
    for attribute in ("first_purchase_value", "purchases_first_90_days"):
        assert any(a == attribute and share == 1.0 and n >= 40 for a, _, share, n in marks), (attribute, marks)
        assert any(a == attribute and share == 0.0 and n >= 40 for a, _, share, n in warnings), (attribute, warnings)
    # the start day is random in both groups: tenure marks nothing
    assert not any(a == "tenure_days" for a, *_ in marks + warnings)
    assert {"purchases_first_90_days", "first_purchase_value"} <= set(m.relevant_attributes)
    assert all(v.kinds[a] == "behaviour" for a in m.relevant_attributes)
    html = result_html(m)
    assert "derived from the purchases" in html and "first_purchase_value" in html


@pytest.mark.real_data
def test_maven_with_accounts_reduced_to_their_id(real_data, tmp_path):
    ws = tmp_path / "maven"
    assert cli.main(["import", "--mapping", str(paths.PROJECT_ROOT / "data/mappings/maven_crm.yaml"),
                     "--source", str(real_data / "maven_crm"), "--out", str(ws)]) == 0
    accounts = pd.read_csv(ws / "accounts.csv")
    accounts[["account_id"]].to_csv(ws / "accounts.csv", index=False)
    v = personas.customer_value(load_workspace(ws))
    assert len(v.customers) == 85 and (v.metrics()["best"], v.metrics()["worst"]) == (17, 17)
    assert v.metrics()["derived"] == ["first_purchase_value", "purchases_first_90_days", "tenure_days",
                                      "recency_days"]
    # the export's most valuable accounts buy most often: their first 90 days hold many more purchases
    pipe = pd.read_csv(real_data / "maven_crm" / "sales_pipeline.csv")
    won = pipe[pipe["deal_stage"] == "Won"].assign(close=lambda d: pd.to_datetime(d["close_date"]))
    first = won.groupby("account")["close"].transform("min")
    early = won[won["close"] <= first + pd.Timedelta(days=90)].groupby("account").size()
    revenue = won.groupby("account")["close_value"].sum()
    top = revenue.rank(ascending=False, method="first") <= 17
    assert early[top].median() > early[~top].median()
    m = personas.markers(v)
    marks = [(r["attribute"], r["level"]) for r in m.metrics()["marks"]]
    assert marks and all(a in v.metrics()["derived"] for a, _ in marks)
    assert any(a == "purchases_first_90_days" for a, _ in marks)


# -- 3: numbers written as text ----------------------------------------------------------------------------------


def test_numbers_written_as_text_are_read_as_numbers_and_the_rest_named(tmp_path):
    rng = np.random.default_rng(5)
    n = 120
    ids = [f"A{i:03d}" for i in range(n)]
    seats = rng.integers(10, 5000, n)
    accounts = pd.DataFrame({
        "account_id": ids,
        "seats": [f"{s:,}" for s in seats],  # 1,234: text to a CSV reader, more than 30 distinct values
        "year_founded": [str(1990 + i % 33) for i in range(n)],  # 33 distinct years
        "postcode": [f"0{1000 + i}" for i in range(n)],  # a code with a leading zero stays text
        "notes": [f"note {i % 50}" for i in range(n)],  # free text, 50 distinct values
        "band": [str(1 + i % 3) for i in range(n)],  # numbers as text, but few: compared value by value
    })
    purchases = [(a, "2024-03-01", float(s)) for a, s in zip(ids, seats)]  # value follows the seats
    v = personas.customer_value(load_workspace(write_purchases(tmp_path / "ws", purchases, accounts)))
    c = v.customers.set_index("account_id")
    assert c["seats"].dtype.kind == "f" and c.at["A000", "seats"] == float(seats[0])
    assert v.metrics()["typed"] == ["seats", "year_founded"]
    assert "first_purchase_value" not in c.columns  # the accounts carry attributes now
    m = personas.markers(v)
    assert {"seats", "year_founded"} <= set(m.table["attribute"])
    assert set(m.table.loc[m.table["attribute"] == "band", "level"]) == {"1", "2", "3"}
    assert m.left_out == {"postcode": "text with 120 distinct values, more than 30 levels to compare",
                          "notes": "text with 50 distinct values, more than 30 levels to compare"}
    # value = seats, so the best 24 (20% of 120) are the 24 largest: a seats level marks them all
    top = {ids[i] for i in np.argsort(-seats, kind="stable")[:24]}
    assert any(top <= set(c.index[r["mask"]]) for _, r in m.marks.iterrows() if r["attribute"] == "seats")
    html = result_html(m)
    assert "Read as numbers (written as text in the data): seats, year_founded." in html
    assert "notes (text with 50 distinct values" in html


# -- 4: one value for all; a tie at the cut-off ------------------------------------------------------------------


def test_the_same_value_for_everyone_is_not_split(tmp_path):
    purchases = [(f"C{i:02d}", f"2024-{1 + i % 12:02d}-10", 100.0) for i in range(30)]
    v = personas.customer_value(load_workspace(write_purchases(tmp_path / "ws", purchases)))
    m = v.metrics()
    assert (m["best"], m["worst"]) == (0, 0) and "every one of the 30 customers has the same value, 100" in m["refused"]
    assert "No best and no worst customers" in result_html(v)
    with pytest.raises(MissingData, match="every customer has the same value"):
        personas.markers(v)


def test_a_tie_across_the_cut_off_is_reported(tmp_path):
    # values 900, six at 100, three at 20: of 10, best = top 2 and worst = bottom 2 (shares 0.2)
    values = [900.0] + [100.0] * 6 + [20.0] * 3
    purchases = [(f"C{i:02d}", "2024-05-10", x) for i, x in enumerate(values)]
    v = personas.customer_value(load_workspace(write_purchases(tmp_path / "ws", purchases)))
    assert v.metrics()["ties"] == {"best": {"value": 100.0, "customers": 6, "assigned": 1},
                                   "worst": {"value": 20.0, "customers": 3, "assigned": 2}}
    best = v.customers.loc[v.customers["best"], "account_id"].tolist()
    assert best == ["C00", "C01"]  # the tie goes by account id
    html = result_html(v)
    assert "6 customers have exactly the value 100 where the best customers end; 1 of them count as best" in html
    assert "3 customers have exactly the value 20 where the worst customers end; 2 of them count as worst" in html


def test_no_tie_no_note(tmp_path):
    purchases = [(f"C{i:02d}", "2024-05-10", float(10 * (i + 1))) for i in range(10)]
    v = personas.customer_value(load_workspace(write_purchases(tmp_path / "ws", purchases)))
    assert "ties" not in v.metrics() and "refused" not in v.metrics()


# -- 5: salign review end to end ---------------------------------------------------------------------------------


def _review(ws: Path, out: Path) -> dict:
    assert cli.main(["review", "--workspace", str(ws), "--out", str(out)]) == 0
    (period,) = [p.name for p in out.iterdir() if p.is_dir() and p.name[:2] == "20"]
    return {"period": period, "metrics": json.loads((out / period / "metrics.json").read_text()),
            "page": (out / period / "01_personas.html").read_text(encoding="utf-8")}


@pytest.mark.slow
def test_review_of_purchases_only_has_markers(transactions, tmp_path):
    ws, _ = transactions
    r = _review(ws, tmp_path / "reports")
    assert r["period"] == "2025Q2"  # the latest complete quarter before 2025-07-01
    p = r["metrics"]["notebooks"]["01_personas"]
    assert "markers" not in p["skipped"] and "customer_value" not in p["skipped"]
    marks = p["sections"]["markers"]["marks"]
    assert {m["attribute"] for m in marks} >= {"first_purchase_value", "purchases_first_90_days"}
    assert "What marks a best customer" in r["page"] and "Marks of a long-term, profitable relationship" in r["page"]
    assert "derived from the purchases" in r["page"]
    # no buyer attribute: segments and the common set are skipped with the reason
    assert "firmographic or first-contact" in p["skipped"]["segments"]


@pytest.mark.slow
def test_review_with_one_value_for_everyone_says_why(tmp_path):
    purchases = [(f"C{i:02d}", f"2024-{1 + i % 12:02d}-10", 100.0) for i in range(30)]
    ws = write_purchases(tmp_path / "ws", purchases, workspace_yaml=WORKSPACE_YAML.replace("2025-07-01", "2025-01-01"))
    r = _review(ws, tmp_path / "reports")
    p = r["metrics"]["notebooks"]["01_personas"]
    assert "same value" in p["skipped"]["markers"]
    assert "No best and no worst customers" in r["page"]
    shutil.rmtree(tmp_path / "reports")


def test_columns_recorded_after_contact_are_no_buyer_attributes(tmp_path):
    """HubSpot's lead status (set by sales after contact) became a best-customer marker before it was declared."""
    ws = tmp_path / "ws"
    shutil.copytree(paths.SAMPLE_WORKSPACE, ws)
    plain = profiles.customer_profiles(load_workspace(ws))
    assert {"job_level", "department"} <= set(plain.columns)
    with open(ws / "workspace.yaml", "a", encoding="utf-8") as f:
        f.write("recorded:\n  leads: {job_level: after_contact}\n  accounts: {tier: after_contact}\n")
    declared = profiles.customer_profiles(load_workspace(ws))
    assert set(plain.columns) - set(declared.columns) == {"job_level", "tier"}
