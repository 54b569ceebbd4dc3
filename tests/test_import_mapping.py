"""The mapping engine's features on a small export (tests/fixtures/bad_inputs/_valid_mapping)."""
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salign.core.problems import WorkspaceError
from salign.imports import import_mapping

BASE = Path(__file__).parent / "fixtures" / "bad_inputs" / "_valid_mapping"


@pytest.fixture
def export(tmp_path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(BASE, folder)
    return folder


def test_parquet_source(export, tmp_path):
    people = pd.read_csv(export / "people.csv", dtype=str, keep_default_na=False).replace("", None)
    people.to_parquet(export / "people.parquet")
    (export / "people.csv").unlink()
    mapping = export / "mapping.yaml"
    mapping.write_text(mapping.read_text().replace("people.csv", "people.parquet"))
    tables, report = import_mapping(mapping, tmp_path / "ws")
    assert len(tables.leads) == 3 and report.files["people"]["placeholders"] == {"Job Title": {"--None--": 1}}


def test_source_override_and_reimport_keeps_definitions(export, tmp_path):
    mapping = tmp_path / "elsewhere" / "mapping.yaml"
    mapping.parent.mkdir()
    shutil.copy(export / "mapping.yaml", mapping)
    with pytest.raises(WorkspaceError):  # the mapping's folder holds no export
        import_mapping(mapping, tmp_path / "ws")
    import_mapping(mapping, tmp_path / "ws", source=export)
    (tmp_path / "ws" / "definitions").mkdir()
    (tmp_path / "ws" / "definitions" / "sla.yaml").write_text(
        "version: 1\nmarketing:\n  sales_ready_leads_per_quarter: 2\n  min_fields_at_handoff: [source]\n"
        "sales:\n  max_hours_to_first_follow_up: 24\n  feedback_days_on_rejected: 5\n")
    tables, _ = import_mapping(mapping, tmp_path / "ws", source=export)
    assert "sla.yaml" in tables.definitions


def test_a_hand_made_workspace_is_never_overwritten(export, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "workspace.yaml").write_text("name: mine\n")
    with pytest.raises(WorkspaceError) as err:
        import_mapping(export / "mapping.yaml", ws)
    assert err.value.problems[0].rule == "out-exists" and (ws / "workspace.yaml").read_text() == "name: mine\n"


def test_template_other_scale_and_missing_when(export, tmp_path):
    mapping = export / "mapping.yaml"
    text = mapping.read_text().replace("""      source: Lead Source
""", """      source:
        from: Lead Source
        values: {Web: web}
        other: offline
      campaign: {template: "{Lead Source}/{Company}"}
      employees: {from: Headcount, scale: 1000, missing_when: {field: Headcount, eq: 0}}
""")
    mapping.write_text(text)
    people = export / "people.csv"
    lines = people.read_text().splitlines()
    people.write_text("\n".join([lines[0] + ",Headcount"] + [line + f",{h}" for line, h in zip(lines[1:], ("2.5", "0", "1"))])
                      + "\n")
    tables, report = import_mapping(mapping, tmp_path / "ws")
    leads = tables.leads.set_index("lead_id")
    assert leads["source"].to_dict() == {"P1": "web", "P2": "offline", "P3": "web"}
    assert leads.loc["P1", "campaign"] == "Web/Alpha GmbH"
    assert leads.loc["P1", "employees"] == 2500 and pd.isna(leads.loc["P2", "employees"])
    data = json.loads((tmp_path / "ws" / "import_report.json").read_text())
    counts = {}
    for r in data["repairs"]:
        counts[(r["column"], r["rule"])] = counts.get((r["column"], r["rule"]), 0) + r["count"]
    assert counts[("employees", "made-missing")] == 1 and counts[("source", "value-map")] == 3  # Web x2, Event


# -- issue 12 ---------------------------------------------------------------------------------------------------
def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("value, mangled", [
    ("401013266745e5661589292315434968", False),  # a 32-character hex id: all digits but one 'e'
    ("12e4567", False), ("1.2E+05", True), ("4.01013E+31", True), ("1,5E+03", True), ("1E+15", True),
    ("00123", False), ("124.0", True), ("A1.0", False)])
def test_only_what_a_spreadsheet_makes_is_a_mangled_id(value, mangled):
    from salign.workspace.config import Formats
    from salign.workspace.files import convert

    assert bool(convert(pd.Series([value], index=[2]), "id", Formats()).bad.iloc[0]) is mangled


def test_a_declared_width_finds_lost_leading_zeros_only():
    from salign.imports.ids import lost_zeros

    ids = pd.Series(["000731", "732", "A00733", None, "1234567"])
    assert lost_zeros(ids, 6).tolist() == [False, True, False, False, False]


def test_a_lookup_may_take_the_column_it_matches(export, tmp_path):
    """match and take the same column: a check that the value exists there (it failed on every row)."""
    _edit(export / "mapping.yaml", """      account_id:
        from: Company
        lookup: {table: accounts, match: name, take: account_id, required: true}""", """      company:
        from: Company
        lookup: {file: companies, match: Company Name, take: Company Name, required: true}""")
    _edit(export / "people.csv", "P3,06/10/2025,Web,Beta Ltd", "P3,06/10/2025,Web,Gamma Inc")
    tables, report = import_mapping(export / "mapping.yaml", tmp_path / "ws")
    assert tables.leads.set_index("lead_id")["company"].to_dict() == {"P1": "Alpha GmbH", "P2": "Beta Ltd"}
    [q] = [q for q in report.quarantine if q["table"] == "leads"]
    assert (q["rule"], q["line"], q["column"], q["value"]) == ("orphan-reference", 4, "Company", "Gamma Inc")


def test_a_failed_import_writes_its_report_and_leaves_the_previous_workspace_alone(export, tmp_path):
    ws = tmp_path / "ws"
    import_mapping(export / "mapping.yaml", ws)
    before = {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()}
    _edit(export / "mapping.yaml", "match: name, take: account_id", "match: account_id, take: account_id")
    with pytest.raises(WorkspaceError) as err:  # every company name is now unknown: leads would be empty
        import_mapping(export / "mapping.yaml", ws)
    assert {p.rule for p in err.value.problems} == {"all-quarantined"}
    first = next(p for p in err.value.problems if "table leads" in p.message)
    assert (Path(first.file).name, first.line, first.column, first.value) == ("people.csv", 2, "Company", "Alpha GmbH")
    assert f"the failed import's report: {ws / 'import_report.failed.json'}" in str(err.value)
    assert {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file() and ".failed." not in p.name} == before
    failed = json.loads((ws / "import_report.failed.json").read_text())
    assert failed["status"] == "failed" and failed["tables"]["leads"]["quarantined"] == 3
    assert len(pd.read_csv(ws / "quarantine.failed.csv")) >= 3
    tables, _ = import_mapping(BASE / "mapping.yaml", ws)  # the next good import replaces the failed files
    assert not (ws / "import_report.failed.json").exists() and len(tables.leads) == 3


@pytest.mark.parametrize("token", ["no", "No", "false", "'no'"])
def test_keep_other_columns_no_however_written(export, tmp_path, token):
    _edit(export / "mapping.yaml", "keep_other_columns: snake_case", f"keep_other_columns: {token}")
    tables, _ = import_mapping(export / "mapping.yaml", tmp_path / "ws")
    assert "job_title" not in tables.leads.columns and len(tables.leads) == 3


def test_keep_other_columns_yes_says_which_words_to_use(export, tmp_path):
    _edit(export / "mapping.yaml", "keep_other_columns: snake_case", "keep_other_columns: yes")
    with pytest.raises(WorkspaceError) as err:
        import_mapping(export / "mapping.yaml", tmp_path / "ws")
    [p] = err.value.problems
    assert p.line == 33 and "keep_other_columns: snake_case" in p.message and "quote" not in p.message


def test_row_numbers_as_ids_and_a_whitespace_delimiter(tmp_path):
    case = Path(__file__).parent / "fixtures" / "bad_inputs" / "map_whitespace_row_number"
    tables, report = import_mapping(case / "mapping.yaml", tmp_path / "ws")
    leads = tables.leads.set_index("lead_id")
    # visits.txt: rows 1-3 under the header (line 3 is blank and does not count)
    assert leads["source"].to_dict() == {"1": "web", "2": "event", "3": "web"}
    assert leads.loc["2", "created_at"] == pd.Timestamp("2025-10-05T00:00Z")
    assert sorted(zip(tables.stages["lead_id"], tables.stages["stage"])) == [
        ("1", "lead"), ("1", "won"), ("2", "lead"), ("3", "lead")]
    assert tables.stages.loc[tables.stages["stage"] == "won", "at"].item() == pd.Timestamp("2025-10-20T00:00Z")


def test_a_file_may_declare_its_own_whitespace_delimiter(tmp_path):
    case = Path(__file__).parent / "fixtures" / "bad_inputs" / "map_whitespace_row_number"
    shutil.copytree(case, tmp_path / "export")
    mapping = tmp_path / "export" / "mapping.yaml"
    _edit(mapping, "  delimiter: whitespace\n", "")
    _edit(mapping, "visits: {path: visits.txt,", "visits: {path: visits.txt, formats: {delimiter: whitespace},")
    tables, _ = import_mapping(mapping, tmp_path / "ws")
    assert len(tables.leads) == 3


def test_a_backward_event_is_set_aside_and_the_lead_kept(export, tmp_path):
    """P1 won on 15/09, two weeks before its first contact (02/10): the win is set aside, the lead is kept."""
    _edit(export / "people.csv", "P1,02/10/2025,Web,Alpha GmbH,CTO,Yes,15/10/2025",
          "P1,02/10/2025,Web,Alpha GmbH,CTO,Yes,15/09/2025")
    tables, report = import_mapping(export / "mapping.yaml", tmp_path / "ws")
    assert sorted(tables.leads["lead_id"]) == ["P1", "P2", "P3"]  # before: P1 was quarantined with its events
    assert sorted(zip(tables.stages["lead_id"], tables.stages["stage"])) == [("P1", "lead"), ("P2", "lead"), ("P3", "lead")]
    [q] = report.quarantine
    assert (q["table"], q["rule"], q["line"], q["column"], q["value"]) == (
        "stages", "stage-order", 2, "Converted On", "15/09/2025")
    t = report.tables["stages"]
    assert (t.rows_in, t.loaded, t.quarantined, t.events_quarantined, t.rows_out) == (3, 3, 0, 1, 3)
    assert report.tables["leads"].quarantined == 0


def test_a_bad_date_spoils_only_its_event(export, tmp_path):
    _edit(export / "people.csv", "CTO,Yes,15/10/2025", "CTO,Yes,31/09/2025")  # 31 September does not exist
    tables, report = import_mapping(export / "mapping.yaml", tmp_path / "ws")
    assert sorted(tables.stages["stage"]) == ["lead", "lead", "lead"]
    [q] = report.quarantine
    assert (q["rule"], q["line"], q["column"], q["value"]) == ("bad-datetime", 2, "Converted On", "31/09/2025")


def test_recorded_declarations_reach_workspace_yaml(export, tmp_path):
    _edit(export / "mapping.yaml", "      source: Lead Source\n",
          "      source: {from: Lead Source, recorded: before_contact}\n")
    _edit(export / "mapping.yaml", "    keep_other_columns: snake_case\n",
          "    keep_other_columns: snake_case\n    recorded: {Job Title: after_contact}\n")
    tables, _ = import_mapping(export / "mapping.yaml", tmp_path / "ws")
    import yaml

    written = yaml.safe_load((tmp_path / "ws" / "workspace.yaml").read_text())
    assert written["recorded"] == {"leads": {"job_title": "after_contact", "source": "before_contact"}}
    assert tables.config.after_contact("leads") == ["job_title"]


def test_recorded_names_a_column_the_file_has(export, tmp_path):
    _edit(export / "mapping.yaml", "    keep_other_columns: snake_case\n",
          "    keep_other_columns: snake_case\n    recorded: {Job Titel: after_contact}\n")
    with pytest.raises(WorkspaceError) as err:
        import_mapping(export / "mapping.yaml", tmp_path / "ws")
    [p] = err.value.problems
    assert (p.rule, p.column, Path(p.file).name) == ("required-column", "Job Titel", "people.csv")


def test_no_email_or_phone_reaches_quarantine_csv(export, tmp_path):
    """A quarantined row holding an e-mail address and a phone number: both are masked in quarantine.csv."""
    people = export / "people.csv"
    lines = people.read_text().splitlines()
    extra = ["Email,Mobile,Notes", "anna.schmidt@example.com,+49 170 5550101,call back",
             "bo@example.org,+44 20 7946 0958,ok",
             "carl@example.net,(212) 555-0103,wrote from carl.private@example.com / +1 212 555 0199"]
    people.write_text("\n".join(f"{a},{b}" for a, b in zip(lines, extra)) + "\n")
    _edit(people, "P3,06/10/2025", "P3,31/09/2025")  # quarantined: no 31 September
    _, report = import_mapping(export / "mapping.yaml", tmp_path / "ws")
    text = (tmp_path / "ws" / "quarantine.csv").read_text()
    assert "P3" in text and "31/09/2025" in text  # the row is there
    for secret in ("carl@example.net", "(212) 555-0103", "carl.private@example.com", "+1 212 555 0199", "555-0103"):
        assert secret not in text, secret
    record = json.loads(pd.read_csv(tmp_path / "ws" / "quarantine.csv")["record"].iloc[0])
    assert record["Email"] == "ca***et" and record["Notes"].startswith("wrote from ")


def test_no_email_or_phone_reaches_quarantine_csv_of_a_salesforce_import(tmp_path):
    from salign.imports import import_salesforce

    sf = Path(__file__).parent / "fixtures" / "salesforce"
    export = tmp_path / "sf"
    shutil.copytree(sf, export)
    lead = export / "Lead.csv"
    lines = lead.read_text().splitlines()
    out = [lines[0] + ',"Email","Phone"']
    for i, line in enumerate(lines[1:]):
        out.append(line + (f',"person{i}@example.com","+49 30 555{i:04d}"' if line.startswith('"00Q') else ""))
    text = "\n".join(out) + "\n"
    text = text.replace('"01/16/2025 10:00 AM"', '"13/16/2025 10:00 AM"', 1)  # month 13: quarantined
    lead.write_text(text)
    settings = export / "settings.yaml"
    _, report = import_salesforce(export, tmp_path / "ws", settings=settings if settings.exists() else None)
    q = pd.read_csv(tmp_path / "ws" / "quarantine.csv", dtype=str)
    assert (q["value"] == "13/16/2025 10:00 AM").any()  # the row is quarantined (and the fixture has e-mails)
    written = (tmp_path / "ws" / "quarantine.csv").read_text()
    assert "@example.com" not in written and "+49 30 555" not in written
    assert "pe***om" in written  # masked, so a reader sees the column was there


def test_every_page_on_an_imported_workspace_says_what_was_set_aside(export, tmp_path):
    """3 leads; P1 won before it was created (its won event set aside), P3 works at an unknown company (the lead
    and its lead event set aside): 2 stage events and 1 lead."""
    from salign.report.pages import page
    from salign.workspace.load import load_workspace
    from salign.workspace.provenance import set_aside_line

    _edit(export / "people.csv", "CTO,Yes,15/10/2025", "CTO,Yes,15/09/2025")
    _edit(export / "people.csv", "P3,06/10/2025,Web,Beta Ltd", "P3,06/10/2025,Web,Gamma Inc")
    import_mapping(export / "mapping.yaml", tmp_path / "ws")
    expected = ("At import, 1 lead and 2 stage events were set aside: 2 pointing to a record the export does not "
                "have, 1 out of funnel order (a later stage reached before an earlier one).")
    assert set_aside_line(tmp_path / "ws").startswith(expected)
    html = page("Funnel", "<p>body</p>", "2025Q4", load_workspace(tmp_path / "ws"), [])
    assert expected in html and 'class="set-aside"' in html


def test_a_workspace_without_an_import_report_says_nothing(tiny_workspace):
    from salign.report.pages import page
    from salign.workspace.load import load_workspace
    from salign.workspace.provenance import set_aside_line

    assert set_aside_line(tiny_workspace) is None
    assert 'class="set-aside"' not in page("Funnel", "<p>body</p>", "2025Q4", load_workspace(tiny_workspace), [])
    assert set_aside_line(Path(__file__).parents[1] / "data" / "sample") is None  # the sample review shows nothing


@pytest.mark.parametrize("old, new, says", [
    ("      created_at: Created\n", "      created_at: {from: Created, width: 6}\n", "'width' applies to id columns only"),
    ("    keep_other_columns: snake_case\n", "    keep_other_columns: no\n    recorded: {Job Title: after_contact}\n",
     "'recorded' names Job Title, which the table neither maps nor keeps"),
    ("    keep_other_columns: snake_case\n", "    keep_other_columns: snake_case\n    recorded: {Converted: after_contact}\n",
     "which 'leave_out' leaves out of the table"),
    ("      lead_id: Person Id\n      created_at", "      lead_id: {row_number: true, from: Person Id}\n      created_at",
     "exactly one of 'from', 'constant', 'template' or 'row_number: true'"),
])
def test_mapping_mistakes_in_the_new_keys_are_named(export, tmp_path, old, new, says):
    _edit(export / "mapping.yaml", old, new)
    with pytest.raises(WorkspaceError) as err:
        import_mapping(export / "mapping.yaml", tmp_path / "ws")
    assert says in str(err.value) and "mapping.yaml" in str(err.value)
    assert not (tmp_path / "ws").exists()  # the mapping itself is wrong: nothing read, nothing written


def test_recorded_may_name_a_mapped_source_column(export, tmp_path):
    _edit(export / "mapping.yaml", "    keep_other_columns: snake_case\n",
          "    keep_other_columns: no\n    recorded: {Lead Source: after_contact}\n")
    tables, _ = import_mapping(export / "mapping.yaml", tmp_path / "ws")
    assert tables.config.recorded == {"leads": {"source": "after_contact"}}


def test_the_set_aside_line_counts_by_table_and_names_the_main_reasons(tmp_path):
    from salign.workspace.provenance import set_aside_line

    def line(entries):
        (tmp_path / "import_report.json").write_text(json.dumps({"quarantined_by_rule": [
            {"table": t, "rule": r, "rows": n} for t, r, n in entries]}))
        return set_aside_line(tmp_path)

    assert line([("stages", "before-created", 1)]).startswith(
        "At import, 1 stage event was set aside: 1 dated before their lead was created.")
    assert line([("stages", "before-created", 30), ("stages", "stage-order", 7), ("leads", "orphan-reference", 3),
                 ("leads", "mangled-id", 1), ("opportunities", "time-order", 2), ("opportunities", "minimum", 1)]
                ).startswith("At import, 4 leads, 37 stage events and 3 opportunities were set aside: 30 dated before "
                             "their lead was created, 7 out of funnel order (a later stage reached before an earlier "
                             "one), 3 pointing to a record the export does not have, 2 closed before created, 2 for "
                             "other reasons.")
    assert line([]) is None
    (tmp_path / "import_report.json").write_text("{not json")
    assert set_aside_line(tmp_path) is None


def test_an_import_never_replaces_a_folder_of_other_files(tmp_path):
    """An import swaps its --out folder as a whole: a folder of the user's own files is refused, untouched."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    (out / "definitions").mkdir()
    with pytest.raises(WorkspaceError) as err:
        import_mapping(BASE / "mapping.yaml", out)
    assert "out-not-empty" in str(err.value) and "notes.txt" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["definitions", "notes.txt"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes"
    (out / "notes.txt").unlink()  # definitions/ prepared beforehand is what an import keeps
    import_mapping(BASE / "mapping.yaml", out)
    assert (out / "import_report.json").is_file() and (out / "definitions").is_dir()
