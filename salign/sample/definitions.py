"""The workspace's YAML files: both teams' personas and qualification rules, SLAs, handoff.

The rules are held here as data; :mod:`salign.sample.matching` evaluates the same
dictionaries, so what the generator measures is what the files say.
"""
from salign.core.strictyaml import dump_yaml

from . import world
from .clock import AS_OF_DATE, TIMEZONE

PERSONAS = {
    "marketing": (
        {"id": "growth_marketer", "name": "Growth Marketer",
         "description": "Marketing directors and VPs who own a pipeline target",
         "rule": {"all": [{"field": "department", "in": ["Marketing"]},
                          {"field": "job_level", "in": ["Director", "VP"]}]}},
        {"id": "digital_marketing_manager", "name": "Digital Marketing Manager",
         "description": "Hands-on marketers who run campaigns and marketing tools",
         "rule": {"all": [{"field": "department", "in": ["Marketing"]},
                          {"field": "job_level", "in": ["Manager", "Individual Contributor"]}]}},
        {"id": "healthcare_operations", "name": "Healthcare Operations Lead",
         "description": "Operations and IT teams at hospitals and clinics",
         "rule": {"all": [{"field": "industry", "in": ["Healthcare"]},
                          {"field": "department", "in": ["Operations", "IT"]}]}},
    ),
    "sales": (
        {"id": "enterprise_executive", "name": "Enterprise Executive",
         "description": "C-level and VP buyers at companies with 5,000 or more employees",
         "rule": {"all": [{"field": "employees", "min": 5000},
                          {"field": "job_level", "in": ["C-level", "VP"]}]}},
        {"id": "financial_services_buyer", "name": "Financial Services Buyer",
         "description": "Banks and insurers with 1,000 or more employees",
         "rule": {"all": [{"field": "industry", "in": ["Financial Services", "Insurance"]},
                          {"field": "employees", "min": 1000}]}},
        {"id": "it_director_large", "name": "IT Director (large company)",
         "description": "IT directors and VPs at companies with 2,000 or more employees",
         "rule": {"all": [{"field": "department", "in": ["IT"]},
                          {"field": "job_level", "in": ["Director", "VP"]},
                          {"field": "employees", "min": 2000}]}},
    ),
}
PERSONA_IDS = tuple(p["id"] for team in ("marketing", "sales") for p in PERSONAS[team])
PERSONA_TEAM = {p["id"]: team for team in ("marketing", "sales") for p in PERSONAS[team]}

QUALIFICATION = {
    "marketing": {
        "name": "Marketing-qualified lead (current)",
        "weakness": "high recall, low precision: any engagement, or a referral/partner/outbound lead, qualifies",
        "rule": {"any": [{"field": "n_content_download", "min": 1},
                         {"field": "n_webinar", "min": 1},
                         {"field": "n_event", "min": 1},
                         {"field": "n_web_visit", "min": 1},
                         {"field": "n_email_click", "min": 1},
                         {"field": "source", "in": ["referral", "partner", "outbound"]}]},
    },
    "sales": {
        "name": "Sales-qualified lead (current)",
        "weakness": "high precision, low recall: only senior people at companies of 200+ employees who "
                    "downloaded content qualify",
        "rule": {"all": [{"field": "job_level", "in": ["C-level", "VP", "Director"]},
                         {"field": "employees", "min": 200},
                         {"field": "n_content_download", "min": 1}]},
    },
}


def _flow(value):
    text = dump_yaml(value, default_flow_style=True, sort_keys=False, width=1000)
    return text.removesuffix("\n...\n").strip()


def _rule_lines(rule, indent):
    """YAML lines of an ``all``/``any`` rule over leaf conditions (the only shape used here)."""
    pad = " " * indent
    (key, parts), = rule.items()
    return [f"{pad}{key}:"] + [f"{pad}  - {_flow(part)}" for part in parts]


def workspace_yaml():
    """Text of ``workspace.yaml``.

    Returns
    -------
    str
        YAML document.
    """
    return f"""name: Northwind Analytics (synthetic sample)
timezone: {TIMEZONE}
fiscal_year_start_month: 1
currency: EUR
as_of: "{AS_OF_DATE}"
outcome: sql
formats:
  delimiter: ","
  decimal: "."
  encoding: utf-8
  datetime_format: "%Y-%m-%dT%H:%M:%SZ"
  date_format: "%Y-%m-%d"
  null_values: [""]
tables:
  accounts: accounts.csv
  leads: leads.csv
  stages: stages.csv
  activities: activities.csv
  opportunities: opportunities.csv
  content: content.csv
"""


def personas_yaml(team):
    """Text of ``definitions/personas.<team>.yaml``.

    Parameters
    ----------
    team : {"marketing", "sales"}
        Whose personas.

    Returns
    -------
    str
        YAML document.
    """
    lines = ["version: 1", f"team: {team}", "personas:"]
    for persona in PERSONAS[team]:
        lines += [f"  - id: {persona['id']}", f"    name: {_flow(persona['name'])}",
                  f"    description: {_flow(persona['description'])}", "    rule:"]
        lines += _rule_lines(persona["rule"], 6)
    return "\n".join(lines) + "\n"


def qualification_yaml(team):
    """Text of ``definitions/qualification.<team>.yaml``.

    Parameters
    ----------
    team : {"marketing", "sales"}
        Whose definition.

    Returns
    -------
    str
        YAML document.
    """
    spec = QUALIFICATION[team]
    lines = ["version: 1", f"team: {team}", f"name: {_flow(spec['name'])}", "rule:"]
    return "\n".join(lines + _rule_lines(spec["rule"], 2)) + "\n"


def sales_ready_target(n_leads):
    """The marketing volume commitment per quarter for a sample of ``n_leads`` leads.

    Parameters
    ----------
    n_leads : int
        Number of leads in the sample.

    Returns
    -------
    int
        Sales-ready leads per quarter (1100 for 20,000 leads).
    """
    return int(round(world.SLA["sales_ready_leads_per_lead"] * n_leads))


def sla_yaml(n_leads):
    """Text of ``definitions/sla.yaml``.

    Parameters
    ----------
    n_leads : int
        Number of leads in the sample (the volume commitment scales with it).

    Returns
    -------
    str
        YAML document.
    """
    s = world.SLA
    return f"""version: 1
marketing:
  sales_ready_leads_per_quarter: {sales_ready_target(n_leads)}
  min_fields_at_handoff: [{", ".join(s["min_fields_at_handoff"])}]
  min_fields_share_target: {s["min_fields_share_target"]}
sales:
  max_hours_to_first_follow_up: {s["max_hours_to_first_follow_up"]}
  follow_up_attainment_target: {s["follow_up_attainment_target"]}
  feedback_days_on_rejected: {s["feedback_days_on_rejected"]}
  expected_acceptance_rate: {s["expected_acceptance_rate"]}
"""


def handoff_yaml():
    """Text of ``definitions/handoff.yaml``.

    Returns
    -------
    str
        YAML document.
    """
    h = world.HANDOFF
    return f"""version: 1
routing: queue
queue: {h["queue"]}
max_hours_to_route: {h["max_hours_to_route"]}
recycle_after_days: {h["recycle_after_days"]}
contacts:
  marketing: Head of Demand Generation
  sales: Head of Sales Development
"""


def definition_files(n_leads):
    """Every YAML file of the workspace, keyed by path relative to the workspace.

    Parameters
    ----------
    n_leads : int
        Number of leads in the sample.

    Returns
    -------
    dict
        ``{relative path: text}``.
    """
    files = {"workspace.yaml": workspace_yaml(), "definitions/sla.yaml": sla_yaml(n_leads),
             "definitions/handoff.yaml": handoff_yaml()}
    for team in ("marketing", "sales"):
        files[f"definitions/personas.{team}.yaml"] = personas_yaml(team)
        files[f"definitions/qualification.{team}.yaml"] = qualification_yaml(team)
    return files
