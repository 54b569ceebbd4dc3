"""Constants of the synthetic world: vocabularies, segments, reps and the planted effects.

Everything the generator plants is declared here as data so that the truth
file can quote it and the tests can refer to it by name.
"""

SOURCES = ("web", "paid_search", "paid_social", "event", "webinar", "referral", "partner", "outbound")
JOB_LEVELS = ("C-level", "VP", "Director", "Manager", "Individual Contributor")
DEPARTMENTS = ("Marketing", "Sales", "IT", "Finance", "Operations", "HR")
CORE_INDUSTRIES = ("Software", "Manufacturing", "Financial Services", "Retail", "Healthcare", "Education")
OTHER_INDUSTRIES = ("Logistics", "Energy", "Media", "Professional Services", "Insurance", "Telecommunications")
INDUSTRIES = CORE_INDUSTRIES + OTHER_INDUSTRIES

#: region -> (share of accounts, countries, country weights); identical for every segment (noise).
REGIONS = {
    "EMEA": (0.45, ("DE", "GB", "FR", "NL", "SE", "ES", "IT", "CH"), (0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.06, 0.04)),
    "NA": (0.30, ("US", "CA"), (0.85, 0.15)),
    "APAC": (0.15, ("AU", "JP", "SG", "IN"), (0.3, 0.25, 0.2, 0.25)),
    "LATAM": (0.10, ("BR", "MX", "AR", "CL"), (0.5, 0.3, 0.1, 0.1)),
}

#: Campaign names, assigned independently of everything else (a noise attribute).
CAMPAIGNS = ("spark", "pulse", "orbit", "drift", "atlas", "nova")
NOISE_ATTRIBUTES = ("region", "country", "campaign")

PRODUCTS = ("Northwind Insight", "Northwind Attribution", "Northwind Pipeline", "Northwind Enterprise Suite")

#: The six planted customer segments.  ``industry_mix`` maps industry -> share (the rest
#: of the share is spread over OTHER_INDUSTRIES); the lead attribute mixes describe the
#: leads of the segment's accounts and therefore also each customer's first lead.
SEGMENTS = (
    {
        "name": "scaleup_software",
        "description": "Software scale-ups (200-2,000 employees); marketing directors met at events; "
        "mid-size deals at a high margin, rarely churn",
        "value_level": "highest",
        "account_share": 0.10,
        "lead_weight": 1.0,
        "industry_mix": {"Software": 0.97},
        "employees": (200, 2000),
        "revenue_per_employee": 180_000,
        "source": {"event": 0.65, "webinar": 0.20, "referral": 0.15},
        "job_level": {"Director": 0.7, "VP": 0.2, "Manager": 0.1},
        "department": {"Marketing": 0.8, "IT": 0.12, "Operations": 0.08},
        "opp_rate": 0.8,
        "win_rate": 0.55,
        "amount_median": 60_000,
        "cycle_days": (25, 90),
        "gross_margin": (0.74, 0.04),
        "churn_rate": 0.05,
        "products": {"Northwind Insight": 0.4, "Northwind Attribution": 0.4, "Northwind Pipeline": 0.2},
    },
    {
        "name": "enterprise_manufacturing",
        "description": "Global manufacturers (10,000-100,000 employees) reached by outbound; C-level/VP buyers; "
        "the biggest deals, but heavy customisation makes them unprofitable and many churn",
        "value_level": "negative (attractive but unprofitable)",
        "account_share": 0.10,
        "lead_weight": 1.3,
        "industry_mix": {"Manufacturing": 0.97},
        "employees": (10000, 100000),
        "revenue_per_employee": 250_000,
        "source": {"outbound": 0.7, "partner": 0.2, "event": 0.1},
        "job_level": {"C-level": 0.5, "VP": 0.45, "Director": 0.05},
        "department": {"Operations": 0.5, "Finance": 0.3, "IT": 0.2},
        "opp_rate": 0.8,
        "win_rate": 0.45,
        "amount_median": 240_000,
        "cycle_days": (60, 180),
        "gross_margin": (-0.08, 0.05),
        "churn_rate": 0.45,
        "products": {"Northwind Enterprise Suite": 0.7, "Northwind Pipeline": 0.3},
    },
    {
        "name": "financial_services",
        "description": "Banks and insurers (2,000-20,000 employees) through partners and referrals; "
        "VP buyers in finance and IT; large deals at a solid margin",
        "value_level": "high",
        "account_share": 0.14,
        "lead_weight": 1.0,
        "industry_mix": {"Financial Services": 0.97},
        "employees": (2000, 20000),
        "revenue_per_employee": 500_000,
        "source": {"partner": 0.6, "referral": 0.3, "outbound": 0.1},
        "job_level": {"VP": 0.7, "Director": 0.2, "C-level": 0.1},
        "department": {"Finance": 0.5, "IT": 0.4, "Marketing": 0.1},
        "opp_rate": 0.75,
        "win_rate": 0.45,
        "amount_median": 80_000,
        "cycle_days": (45, 150),
        "gross_margin": (0.40, 0.04),
        "churn_rate": 0.08,
        "products": {"Northwind Enterprise Suite": 0.4, "Northwind Insight": 0.4, "Northwind Pipeline": 0.2},
    },
    {
        "name": "smb_retail",
        "description": "Small shops and tiny software firms (5-49 employees) from paid social and the web; "
        "hands-on marketers; tiny deals, thin margin, half of them churn",
        "value_level": "very low",
        "account_share": 0.34,
        "lead_weight": 1.2,
        "industry_mix": {"Retail": 0.77, "Software": 0.20},
        "employees": (5, 49),
        "revenue_per_employee": 90_000,
        "source": {"paid_social": 0.7, "web": 0.2, "paid_search": 0.1},
        "job_level": {"Manager": 0.55, "Individual Contributor": 0.4, "C-level": 0.05},
        "department": {"Marketing": 0.75, "Sales": 0.25},
        "opp_rate": 0.85,
        "win_rate": 0.55,
        "amount_median": 6_000,
        "cycle_days": (10, 45),
        "gross_margin": (0.22, 0.05),
        "churn_rate": 0.5,
        "products": {"Northwind Insight": 0.8, "Northwind Attribution": 0.2},
    },
    {
        "name": "healthcare_midmarket",
        "description": "Clinics and care providers (50-400 employees) that come through webinars; "
        "operations and IT managers; medium deals at a good margin",
        "value_level": "medium",
        "account_share": 0.16,
        "lead_weight": 1.2,
        "industry_mix": {"Healthcare": 0.97},
        "employees": (50, 400),
        "revenue_per_employee": 120_000,
        "source": {"webinar": 0.7, "web": 0.2, "paid_search": 0.1},
        "job_level": {"Manager": 0.7, "Director": 0.25, "Individual Contributor": 0.05},
        "department": {"Operations": 0.5, "IT": 0.3, "HR": 0.2},
        "opp_rate": 0.7,
        "win_rate": 0.45,
        "amount_median": 28_000,
        "cycle_days": (30, 100),
        "gross_margin": (0.50, 0.04),
        "churn_rate": 0.15,
        "products": {"Northwind Insight": 0.5, "Northwind Pipeline": 0.5},
    },
    {
        "name": "education",
        "description": "Universities and school districts (1,000-8,000 employees) from web search; "
        "IT staff; small deals, modest margin",
        "value_level": "low",
        "account_share": 0.16,
        "lead_weight": 1.2,
        "industry_mix": {"Education": 0.97},
        "employees": (1000, 8000),
        "revenue_per_employee": 40_000,
        "source": {"web": 0.7, "paid_search": 0.2, "webinar": 0.1},
        "job_level": {"Individual Contributor": 0.7, "Manager": 0.25, "Director": 0.05},
        "department": {"IT": 0.6, "HR": 0.2, "Operations": 0.2},
        "opp_rate": 0.65,
        "win_rate": 0.5,
        "amount_median": 14_000,
        "cycle_days": (30, 120),
        "gross_margin": (0.38, 0.04),
        "churn_rate": 0.2,
        "products": {"Northwind Insight": 0.7, "Northwind Attribution": 0.3},
    },
)
SEGMENT_NAMES = tuple(s["name"] for s in SEGMENTS)
BEST_SEGMENT = "scaleup_software"
UNPROFITABLE_SEGMENT = "enterprise_manufacturing"
#: Segments worth targeting (a persona set should cover them).
VALUABLE_SEGMENTS = ("scaleup_software", "financial_services", "healthcare_midmarket")
#: Deals of scale-up software accounts whose first lead came from an event are this much larger.
EVENT_SOFTWARE_DEAL_UPLIFT = 1.35
#: The planted conjunction that separates best from worst customers.
CONJUNCTION = (
    {"field": "industry", "eq": "Software"},
    {"field": "employees", "between": [200, 2000]},
    {"field": "source", "eq": "event"},
)

#: Attribute mix of leads that belong to no account.
UNATTACHED = {
    "source": {"web": 0.3, "paid_search": 0.2, "paid_social": 0.2, "webinar": 0.1, "event": 0.1, "referral": 0.05,
               "outbound": 0.05},
    "job_level": {"C-level": 0.08, "VP": 0.1, "Director": 0.17, "Manager": 0.3, "Individual Contributor": 0.35},
    "department": {"Marketing": 0.3, "Sales": 0.2, "IT": 0.2, "Finance": 0.1, "Operations": 0.12, "HR": 0.08},
}

#: Share of all leads that belong to no account.
UNATTACHED_SHARE = 0.2
#: Accounts per lead.
ACCOUNTS_PER_LEAD = 0.125
#: Share of the leads created in each of the 8 quarters.
QUARTER_LEAD_SHARE = (0.09, 0.105, 0.135, 0.11, 0.135, 0.135, 0.135, 0.155)

#: Marketing behaviour: mean number of touches per lead in its qualification window.
TOUCH_RATE = {"web_visit": 0.32, "email_open": 0.12, "email_click": 0.12, "content_download": 0.2,
              "webinar": 0.06, "event": 0.04}
MARKETING_TYPES = tuple(TOUCH_RATE)
SALES_TYPES = ("assignment", "call", "email", "meeting")
FOLLOW_UP_TYPES = ("call", "email", "meeting")

#: True logistic model of reaching ``sql`` within 90 days of created_at.
SQL_INTERCEPT = -3.6
SQL_COEFFICIENTS = {
    "job_level": {"C-level": 0.4, "VP": 0.6, "Director": 0.7, "Manager": 0.0, "Individual Contributor": -0.5},
    "employees_band": {"<50": -0.3, "50-199": 0.0, "200-1999": 0.5, "2000-9999": 0.4, ">=10000": 0.2,
                       "missing": -0.4},
    "industry": {"Software": 0.4, "Financial Services": 0.3, "Manufacturing": 0.3, "Healthcare": 0.1,
                 "Education": -0.1, "Retail": -0.2, "other": 0.0},
    "source": {"referral": 1.0, "partner": 0.7, "event": 0.6, "webinar": 0.4, "outbound": 0.2, "web": 0.0,
               "paid_search": -0.1, "paid_social": -0.3},
    "log1p_touches": {"web_visit": 0.35, "email_open": 0.1, "email_click": 0.5, "content_download": 0.8,
                      "webinar": 0.6, "event": 0.7},
    "created_in_second_year": 0.35,
}
EMPLOYEE_BANDS = ((0, 49, "<50"), (50, 199, "50-199"), (200, 1999, "200-1999"), (2000, 9999, "2000-9999"),
                  (10000, 10**9, ">=10000"))
SQL_WINDOW_DAYS = 90

#: Probability that a lead that will not reach sql is still handed over as an MQL,
#: depending on whether it meets marketing's rule (True) or not (False).
MQL_IF_RULE = {True: 0.4, False: 0.04}

REPS = tuple(f"R{i:02d}" for i in range(1, 11))
#: Median hours from MQL to first follow-up per rep in the first year.
REP_MEDIAN_HOURS = (3.0, 5.0, 2.0, 72.0, 6.0, 4.0, 8.0, 3.0, 96.0, 5.0)
SLOW_REPS = ("R04", "R09")
#: Routing weight of a slow rep in (first year, second year); the others share the rest.
SLOW_REP_ROUTING_WEIGHT = (0.1, 0.03)
#: Multiplier of every rep's follow-up delay per quarter (2026Q2 is a planted relapse).
FOLLOW_UP_PACE = (1.0, 1.0, 1.0, 0.9, 0.5, 0.5, 1.6, 0.45)
FOLLOW_UP_SIGMA = 0.8
#: Share of non-converting MQLs a rep never follows up, (first year, second year).
NEVER_FOLLOWED_UP = {"normal": (0.04, 0.01), "slow": (0.15, 0.06)}
NEVER_ROUTED_SHARE = 0.015
ROUTE_MEDIAN_HOURS = (1.0, 0.5)

#: Share of non-converting followed-up MQLs that sales accepts, (first year, second year).
ACCEPT_SHARE = (0.5, 0.65)
REJECT_REASONS = ("no budget", "wrong persona", "student/competitor", "bad contact data")
#: Share of rejections without a reason, (first year, second year).
NO_REASON_SHARE = (0.45, 0.12)
#: Share of rejections given more than FEEDBACK_DAYS after the MQL, (first year, second year).
SLOW_FEEDBACK_SHARE = (0.35, 0.1)
#: Share of rejections whose reason carries an e-mail address (exercises the PII scan).
EMAIL_REASON_SHARE = 0.01
RECYCLE_SHARE = 0.5
REENTRY_SHARE = 0.12
LATE_SQL_SHARE = 0.04
SKIP_SAL_SHARE = 0.01
SKIP_SQL_SHARE = 0.015
SALES_DISQUALIFY_SHARE = 0.4
SALES_DISQUALIFY_REASONS = ("no project", "no budget", "went with competitor")
MARKETING_DISQUALIFY_SHARE = 0.03
MARKETING_DISQUALIFY_REASONS = ("student/competitor", "invalid email", "duplicate")
LOSS_REASONS = ("price", "competitor", "no decision", "timing", "missing feature")

#: Share of leads missing each of the handoff fields, (first year, second year).
MISSING_FIELD_SHARE = {"job_title": (0.02, 0.003), "employees": (0.03, 0.003), "phone": (0.03, 0.005)}

#: Numbers written to definitions/ (the volume commitment scales with the number of leads).
SLA = {
    "sales_ready_leads_per_lead": 0.042,
    "min_fields_at_handoff": ("job_title", "employees", "industry", "phone"),
    "min_fields_share_target": 0.95,
    "max_hours_to_first_follow_up": 24,
    "follow_up_attainment_target": 0.9,
    "feedback_days_on_rejected": 5,
    "expected_acceptance_rate": 0.7,
}
HANDOFF = {"queue": "sdr-inbox", "max_hours_to_route": 4, "recycle_after_days": 90}

STALE_AFTER_DAYS = 365

#: Attributes of a customer (account firmographics and its first lead) that truly raise (+)
#: or lower (-) its chance to be among the best / worst 20% by value.
BEST_MARKERS = (
    ({"field": "industry", "eq": "Software"}, "+"),
    ({"field": "employees", "between": [200, 2000]}, "+"),
    ({"field": "source", "eq": "event"}, "+"),
    ({"field": "job_level", "eq": "Director"}, "+"),
    ({"field": "industry", "eq": "Manufacturing"}, "-"),
    ({"field": "industry", "eq": "Retail"}, "-"),
    ({"field": "source", "eq": "paid_social"}, "-"),
    ({"field": "job_level", "eq": "Individual Contributor"}, "-"),
)
WORST_MARKERS = (
    ({"field": "industry", "eq": "Manufacturing"}, "+"),
    ({"field": "employees", "min": 5000}, "+"),
    ({"field": "source", "eq": "outbound"}, "+"),
    ({"field": "job_level", "eq": "C-level"}, "+"),
    ({"field": "industry", "eq": "Retail"}, "+"),
    ({"field": "employees", "max": 49}, "+"),
    ({"field": "source", "eq": "paid_social"}, "+"),
    ({"field": "industry", "eq": "Software"}, "-"),
    ({"field": "job_level", "eq": "Director"}, "-"),
)
#: Share of customers counted as best (top) and worst (bottom) by value.
EXTREME_SHARE = 0.2
#: A persona covers a segment when its rule matches at least this share of the segment's customers.
COVERAGE_THRESHOLD = 0.5
