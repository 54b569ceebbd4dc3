"""salign.qualify piece by piece: intervals, split, features, leakage, bins, scorecard, the signed file, scoring."""
from __future__ import annotations

import hashlib
import json
import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from salign import cli, qualify, scoring
from salign.common.result import Heading
from salign.core.problems import WorkspaceError
from salign.definitions.qualification import QualificationDefinition, load_definition
from salign.qualify import leakage
from salign.qualify.auc import auc_ci, auc_difference
from salign.qualify.features import candidates
from salign.qualify.target import holdout_split
from salign.report.html import result_html
from salign.scoring.bins import BinSpec, fit_spec
from salign.scoring.score import Scorer
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData

# --------------------------------------------------------------------------- AUC intervals

def test_delong_auc_matches_sklearn_and_a_bootstrap():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 600)
    s = y * 0.7 + rng.normal(size=600)
    a = auc_ci(y, s)
    assert a.value == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    boot = [roc_auc_score(y[i], s[i]) for i in (rng.integers(0, 600, 600) for _ in range(300))]
    assert (a.high - a.low) / 2 / 1.96 == pytest.approx(np.std(boot), rel=0.2)
    assert a.low < a.value < a.high and a.n == 600 and a.positives == int(y.sum())


def test_paired_difference_of_a_model_with_itself_is_zero_and_of_a_better_one_positive():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 800)
    good, bad = y + rng.normal(size=800), y * 0.2 + rng.normal(size=800)
    assert auc_difference(y, good, good) == (0.0, 0.0, 0.0)
    d, lo, hi = auc_difference(y, good, bad)
    assert d == pytest.approx(roc_auc_score(y, good) - roc_auc_score(y, bad)) and 0 < lo < d < hi


# --------------------------------------------------------------------------- split

def test_time_split_holds_out_the_newest_leads():
    created = pd.Series(pd.date_range("2025-01-01", periods=1000, freq="D", tz="UTC"))
    y = np.tile([0, 0, 0, 1], 250)
    split = holdout_split(created, y, 0.25)
    assert split.kind == "time" and split.test[-250:].all() and not split.test[:750].any()
    assert split.cutoff == created.iloc[750] and "created before 2027-01-21" in split.reason


def test_without_usable_dates_the_split_is_stratified_and_says_so():
    created = pd.Series(pd.Timestamp("2020-01-01", tz="UTC"), index=range(1000))
    y = np.tile([0, 0, 0, 1], 250)
    split = holdout_split(created, y, 0.25, random_state=3)
    assert split.kind == "stratified" and split.cutoff is None
    assert "only 1 distinct creation day" in split.reason and "no time-ordered holdout" in split.reason
    assert y[split.test].mean() == pytest.approx(0.25, abs=0.01)


def test_too_few_successes_is_missing_data_not_a_crash():
    created = pd.Series(pd.date_range("2025-01-01", periods=400, freq="D", tz="UTC"))
    with pytest.raises(MissingData, match="of each outcome"):
        holdout_split(created, np.r_[np.ones(5), np.zeros(395)].astype(int))


# --------------------------------------------------------------------------- features and leakage

def _facts(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    decided = pd.Series(pd.Timestamp("2025-06-01", tz="UTC") + pd.to_timedelta(np.arange(n), "h"))
    return pd.DataFrame({
        "lead_id": [f"L{i:05d}" for i in range(n)], "created_at": decided - pd.Timedelta(days=3),
        "decided_at": decided, "y": y, "at_sql": pd.NaT,
        "email": [f"p{i}@x.test" for i in range(n)], "account_id": [f"A{i}" for i in range(n)],
        "employees": [str(v) for v in rng.integers(1, 5000, n)],          # numbers written as text
        "region": rng.choice(["EMEA", "NA"], n), "constant": "same",
        "verdict": np.where(y == 1, "good", "bad"),                        # the outcome itself
        "verdict_set_at": (decided + pd.Timedelta(days=5)).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last_activity": rng.choice(["call", "mail"], n),
        "noise": rng.choice(["a", "b", "c"], n)}), y


def test_candidates_are_typed_and_non_features_are_named():
    facts, _ = _facts()
    c = candidates(facts)
    assert c.kinds == {"employees": "numeric", "region": "categorical", "verdict": "categorical",
                       "last_activity": "categorical", "noise": "categorical"}
    assert c.dropped == {"email": "personal data",
                         "account_id": "an identifier (a distinct value for almost every lead: 400 values for 400 leads)",
                         "constant": "the same value for every lead", "verdict_set_at": "a timestamp, not an attribute"}
    assert c.frame["employees"].dtype == float and "verdict_set_at" in c.timestamps


def test_leakage_rules_auc_timestamp_name_and_declared():
    facts, y = _facts()
    c = candidates(facts)
    train = np.arange(len(y)) < 300
    report = leakage.check(c, y, train, facts["decided_at"], declared=("noise",))
    assert report.excluded == ["last_activity", "noise", "verdict"]
    assert {r for r, _ in report.flagged["verdict"]} == {"auc", "timestamp"}
    assert report.auc["verdict"] == 1.0 and report.auc["region"] < 0.7
    assert [r for r, _ in report.flagged["last_activity"]] == ["name"]
    assert [r for r, _ in report.flagged["noise"]] == ["declared"]
    assert "100% of its values were set after the lead's decision point (timestamps in verdict_set_at)" in \
        dict(report.flagged["verdict"])["timestamp"]
    assert report.metrics()["rules"] == {"verdict": ["auc", "timestamp"], "last_activity": ["name"],
                                         "noise": ["declared"]}


@pytest.mark.parametrize("column,word", [("last_notable_activity", "last"), ("Lead Quality", "quality"),
                                         ("tags", "tags"), ("owner", "owner"), ("lead_source", None),
                                         ("what_is_your_current_occupation", None)])
def test_field_names_that_mark_values_kept_up_to_date_after_the_decision(column, word):
    assert leakage.name_word(column) == word


# --------------------------------------------------------------------------- bins

def test_numeric_bins_edges_missing_and_text_numbers():
    spec = BinSpec("employees", "numeric", edges=(50.0, 200.0))
    codes = spec.codes(pd.Series(["10", "50", "199.5", " 200 ", None, "n/a"]))
    assert codes.tolist() == [0, 1, 1, 2, 3, 3]
    assert spec.labels() == ["below 50", "50 to below 200", "200 or more", "missing"]


def test_categorical_bins_match_exactly_then_loosely_and_new_values_are_other():
    spec = BinSpec("job_level", "categorical", levels=("Director", "VP"))
    values = pd.Series(["VP", " director ", "Intern", None, "VP"])
    assert spec.codes(values).tolist() == [1, 0, 2, 3, 1]
    assert spec.codes(values.astype("category")).tolist() == [1, 0, 2, 3, 1]


def test_fitted_bins_need_enough_leads_each():
    x = pd.Series(np.r_[np.zeros(900), np.ones(60), np.full(20, 2.0)])
    spec = fit_spec("n_event", "numeric", x)
    assert spec.edges == (1.0,)  # only 20 leads have 2: fewer than the 30 a range needs, so 1 or more is one range
    rare = fit_spec("source", "categorical", pd.Series(["web"] * 500 + ["fax"] * 3))
    assert rare.levels == ("web",)


# --------------------------------------------------------------------------- a small generated workspace, end to end

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from salign.sample import generate

    folder = generate(tmp_path_factory.mktemp("q") / "ws", n_leads=3000, seed=7)
    tables = load_workspace(folder)
    data = qualify.prepare(tables)
    fit = qualify.fit_scorecard(data)
    comparison = qualify.compare_models(tables, data, fit)
    threshold = qualify.choose_threshold(tables, data, fit)
    criteria = qualify.find_criteria(tables, data)
    out = tmp_path_factory.mktemp("out")
    signoff = qualify.write_definition(tables, data, fit, comparison, threshold, criteria, out)
    return dict(folder=folder, tables=tables, data=data, fit=fit, comparison=comparison, threshold=threshold,
                criteria=criteria, signoff=signoff, out=out)


def points_by_hand(feature: dict, value) -> int:
    """The points of one value under one feature of the written YAML: the bin it falls in, found by reading."""
    bins = feature["bins"]
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return next(b["points"] for b in bins if b.get("missing"))
    if feature["kind"] == "numeric":
        x = float(value)
        return next(b["points"] for b in bins if "in" not in b and not b.get("missing") and not b.get("other")
                    and b.get("from", -math.inf) <= x < b.get("below", math.inf))
    for match in (lambda level: level == str(value),  # exact first, then ignoring case and surrounding spaces
                  lambda level: level.strip().casefold() == str(value).strip().casefold()):
        for b in bins:
            if any(match(level) for level in b.get("in", [])):
                return b["points"]
    return next(b["points"] for b in bins if b.get("other"))


def test_points_are_whole_non_negative_and_each_feature_starts_at_zero(small):
    card = small["fit"].card
    for pts in card.points:
        assert pts.dtype.kind == "i" and pts.min() == 0 and pts.max() >= 2
    X = small["data"].features
    features = yaml.safe_load((small["out"] / "qualification.yaml").read_text())["scorecard"]["features"]
    expected = [sum(points_by_hand(f, lead.get(f["field"])) for f in features) for lead in X.to_dict("records")]
    assert card.score(X).tolist() == expected
    assert card.points_matrix(card.codes(X)).sum(axis=1).tolist() == expected


def test_the_written_yaml_is_the_model(small):
    path = small["out"] / "qualification.yaml"
    definition = load_definition(path)
    assert definition == small["signoff"].definition
    holdout = small["data"].facts[small["data"].test]
    assert (Scorer(definition).score(holdout)["score"].to_numpy() == small["fit"].score).all()
    text = path.read_text()
    assert text.startswith("# The definition of a sales-ready lead") and "pickle" not in text
    doc = yaml.safe_load(text)
    assert doc["signatures"] == {"marketing": {"name": None, "date": None}, "sales": {"name": None, "date": None}}
    assert doc["data"]["fingerprint"] == small["tables"].fingerprint
    assert doc["data"]["excluded_as_leaks"] == ["lead_quality", "owner"]
    assert small["signoff"].metrics()["file"] == "qualification.yaml"


def test_every_section_reports_json_metrics_identically_twice(small):
    tables = small["tables"]
    again = qualify.prepare(tables)
    fit2 = qualify.fit_scorecard(again)
    assert json.dumps(fit2.metrics(), sort_keys=True) == json.dumps(small["fit"].metrics(), sort_keys=True)
    for key in ("data", "fit", "comparison", "threshold", "criteria", "signoff"):
        json.dumps(small[key].metrics())
        assert result_html(small[key]).startswith("<div class='salign-result'>")
    for key in ("comparison", "threshold"):
        assert small[key].figure() is not None and small[key].figure_description


def test_the_sign_off_page_is_text_with_blank_lines_to_sign(small):
    signoff = small["signoff"]
    blocks = signoff.blocks()
    assert [b.text for b in blocks if isinstance(b, Heading)] == [
        "Minimum information before handoff", "Disqualified whatever the score", "Columns considered as features",
        "Signed off by"]
    signatures = blocks[-1].frame
    assert list(signatures["team"]) == ["Marketing", "Sales"]
    assert signatures.drop(columns="team").map(lambda cell: set(cell) == {"_"}).all().all()
    assert f"at least {signoff.definition.threshold.score} points" in blocks[1].text
    page = result_html(signoff)
    assert "<code>qualification.yaml</code>" in page and "<h4>Signed off by</h4>" in page


def test_threshold_is_the_highest_score_that_delivers_the_commitment(small):
    t = small["threshold"]
    table = t.table
    assert t.row(t.chosen)["volume"] >= t.commitment
    assert (table.loc[table["score"] > t.chosen, "volume"] < t.commitment).all()
    assert t.nurture <= t.chosen
    assert t.metrics()["volume_met"] is True


# --------------------------------------------------------------------------- the signed file is strict

def _yaml(small) -> dict:
    return yaml.safe_load((small["out"] / "qualification.yaml").read_text())


def _write(tmp_path, doc) -> str:
    path = tmp_path / "qualification.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_an_unknown_key_is_an_error_with_its_line(small, tmp_path):
    doc = _yaml(small)
    doc["threshold"]["scroe"] = 3
    with pytest.raises(WorkspaceError) as err:
        load_definition(_write(tmp_path, doc))
    problem = err.value.problems[0]
    assert problem.rule == "unknown-key" and problem.column == "threshold.scroe" and problem.line > 1


@pytest.mark.parametrize("breakage,message", [
    (lambda d: d["scorecard"]["features"][0]["bins"].pop(), "exactly one {missing: true} bin"),
    (lambda d: d["threshold"].update(score=10_000), "above the highest possible score"),
    (lambda d: d["threshold"].update(score="12"), "valid integer"),
    (lambda d: d["outcome"].update(stage="mql"), "'sql', 'opportunity' or 'won'"),
])
def test_the_definition_rejects_what_it_cannot_score(small, tmp_path, breakage, message):
    doc = _yaml(small)
    breakage(doc)
    with pytest.raises(WorkspaceError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_definition(_write(tmp_path, doc))


def test_numeric_ranges_must_follow_each_other():
    bins = [{"below": 10, "points": 0}, {"from": 20, "points": 3}, {"missing": True, "points": 0}]
    with pytest.raises(ValueError, match="must follow each other"):
        QualificationDefinition.model_validate({"scorecard": {"features": [
            {"field": "employees", "kind": "numeric", "typical_points": 1.0, "bins": bins}]}})


def test_a_signed_definition_in_the_workspace_is_validated(small, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(small["folder"], ws)
    doc = _yaml(small)
    doc["signatures"] = {"marketing": {"name": "Head of Demand Generation", "date": "2026-10-05"},
                         "sales": {"name": "Head of Sales Development", "date": "2026-10-06"}}
    (ws / "definitions" / "qualification.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(WorkspaceError, match="qualification.yaml"):  # dates written as text are not dates
        load_workspace(ws)
    text = (ws / "definitions" / "qualification.yaml").read_text().replace("'2026-10-05'", "2026-10-05")
    (ws / "definitions" / "qualification.yaml").write_text(text.replace("'2026-10-06'", "2026-10-06"))
    signed = load_workspace(ws).definition("qualification.yaml")
    assert signed.signed and signed.version == 1
    data = qualify.prepare(load_workspace(ws))  # the next study proposes version 2
    t = small
    again = qualify.build_definition(load_workspace(ws), data, t["fit"], t["comparison"], t["threshold"], t["criteria"])
    assert again.version == 2 and not again.signed


# --------------------------------------------------------------------------- scoring

def test_bands_qualified_and_reasons(small):
    definition = small["signoff"].definition
    scorer = Scorer(definition)
    leads = small["data"].facts[small["data"].test].copy()
    scored = scorer.score(leads)
    assert list(scored.columns) == ["score", "probability", "band", "qualified", "reason_1", "reason_2", "reason_3"]
    assert scored.index.equals(leads.index)
    assert set(scored["band"]) <= set(scoring.BANDS)
    ready = scored["score"] >= definition.threshold.score
    assert (scored["qualified"] <= ready).all()
    assert (scored.loc[scored["band"] == "disqualified", "reason_1"].str.startswith("disqualified: ")).all()
    incomplete = scored["band"] == "incomplete"
    assert (scored.loc[incomplete, "reason_1"].str.startswith("missing before handoff: ")).all()
    assert not scored.loc[incomplete | (scored["band"] == "disqualified"), "qualified"].any()
    some = scored[scored["band"] == "sales-ready"].iloc[0]
    assert all(": " in some[f"reason_{i}"] and some[f"reason_{i}"].endswith(")") for i in (1, 2, 3))


def test_a_missing_required_field_makes_a_lead_incomplete_and_absent_fields_are_named(small):
    scorer = Scorer(small["signoff"].definition)
    leads = small["data"].facts[small["data"].test]
    top = leads.iloc[[int(np.argmax(small["fit"].score))]].copy()
    field = small["signoff"].definition.minimum_information[0].field
    top[field] = None
    assert scorer.score(top)["band"].iloc[0] in ("incomplete", "disqualified")
    assert field in scorer.absent(top.drop(columns=[field]))


def test_score_leads_accepts_the_path(small):
    leads = small["data"].facts.head(50)
    by_path = scoring.score_leads(small["out"] / "qualification.yaml", leads)
    assert by_path.equals(scoring.score_leads(small["signoff"].definition, leads))


# --------------------------------------------------------------------------- salign score

def test_cli_scores_a_file_atomically_and_never_touches_the_input(small, tmp_path, capsys):
    leads = tmp_path / "leads.csv"
    shutil.copy(small["folder"] / "leads.csv", leads)
    before = hashlib.sha256(leads.read_bytes()).hexdigest()
    out = tmp_path / "scored.csv"
    code = cli.main(["score", "--definition", str(small["out"] / "qualification.yaml"), "--leads", str(leads),
                     "--out", str(out)])
    assert code == 0
    assert hashlib.sha256(leads.read_bytes()).hexdigest() == before
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    original = pd.read_csv(leads, dtype=str, keep_default_na=False)
    assert scored[original.columns].equals(original)
    assert set(scored["qualified"]) <= {"yes", "no"} and scored["score"].str.isdigit().all()
    captured = capsys.readouterr()
    # the file lacks the activity counts (n_<type>) the scorecard uses; which ones depends on the fit
    assert "3,000 leads scored" in captured.out and re.search(r"\bn_\w+", captured.err)
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_refuses_to_overwrite_its_input_and_reports_a_bad_definition(small, tmp_path):
    leads = small["folder"] / "leads.csv"
    before = leads.read_bytes()
    assert cli.main(["score", "--definition", str(small["out"] / "qualification.yaml"), "--leads", str(leads),
                     "--out", str(leads)]) == cli.EXIT_USAGE
    assert leads.read_bytes() == before
    bad = tmp_path / "qualification.yaml"
    bad.write_text("format: 1\nversion: 1\nthreshold: {score: 3}\n")
    assert cli.main(["score", "--definition", str(bad), "--leads", str(leads),
                     "--out", str(tmp_path / "x.csv")]) == cli.EXIT_INVALID_INPUT
    assert not (tmp_path / "x.csv").exists()


def test_cli_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        cli.main(["score", "--help"])
    assert "salign score --definition" in capsys.readouterr().out


def test_reasons_are_the_three_features_furthest_from_a_typical_lead(small):
    from salign.scoring.score import Reasons

    card = small["fit"].card
    X = small["data"].features.head(300)
    codes = card.codes(X)
    got = Reasons(card)(codes)
    points = card.points_matrix(codes)
    for i in range(len(X)):
        dev = np.abs(points[i] - np.array(card.typical))
        order = sorted(range(len(dev)), key=lambda j: (-dev[j], j))[:3]
        expected = [f"{card.specs[j].field}: {card.specs[j].labels()[codes[i, j]]} "
                    f"({points[i, j] - card.typical[j]:+.0f})" for j in order]
        assert got[i] == expected


def test_text_object_and_arrow_frames_score_alike(small, tmp_path):
    from salign.scoring.files import read_leads

    leads = small["data"].facts[small["data"].test]
    path = tmp_path / "leads.csv"
    leads.to_csv(path, index=False)
    as_read = read_leads(path)
    a = Scorer(small["signoff"].definition).score(leads).reset_index(drop=True)
    b = Scorer(small["signoff"].definition).score(as_read)
    assert a.astype(str).equals(b.astype(str))
