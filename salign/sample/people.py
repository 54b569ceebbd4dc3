"""Fake but realistic-looking names, contact data, job titles and company names.

The PII columns exist so that the publisher's PII scan has something real to find.
Every function draws from the generator it is given and works on whole arrays.
"""

import numpy as np

from . import world
from .sampling import categorical, mix_table

_FIRST = (("Anna", "anna"), ("Lukas", "lukas"), ("Sophie", "sophie"), ("Jonas", "jonas"), ("Marie", "marie"),
          ("Felix", "felix"), ("Emma", "emma"), ("Noah", "noah"), ("Lea", "lea"), ("Paul", "paul"),
          ("Olivia", "olivia"), ("James", "james"), ("Charlotte", "charlotte"), ("Oliver", "oliver"),
          ("Amelia", "amelia"), ("Liam", "liam"), ("Camille", "camille"), ("Hugo", "hugo"), ("Léa", "lea"),
          ("Sven", "sven"), ("Ingrid", "ingrid"), ("Sofia", "sofia"), ("Mateo", "mateo"), ("Lucía", "lucia"),
          ("Valentina", "valentina"), ("Diego", "diego"), ("Yuki", "yuki"), ("Haruto", "haruto"),
          ("Priya", "priya"), ("Arjun", "arjun"), ("Mei", "mei"), ("Wei", "wei"), ("Chloe", "chloe"),
          ("Ethan", "ethan"), ("Zoë", "zoe"), ("Jürgen", "juergen"), ("Matthias", "matthias"), ("Sarah", "sarah"),
          ("David", "david"), ("Laura", "laura"))
_LAST = (("Berger", "berger"), ("Müller", "mueller"), ("Schmidt", "schmidt"), ("Fischer", "fischer"),
         ("Weber", "weber"), ("Wagner", "wagner"), ("Becker", "becker"), ("Hoffmann", "hoffmann"),
         ("Smith", "smith"), ("Johnson", "johnson"), ("Brown", "brown"), ("Taylor", "taylor"), ("Wilson", "wilson"),
         ("Martin", "martin"), ("Dubois", "dubois"), ("Lefèvre", "lefevre"), ("de Vries", "devries"),
         ("Jansen", "jansen"), ("Andersson", "andersson"), ("Johansson", "johansson"), ("García", "garcia"),
         ("Fernández", "fernandez"), ("Rossi", "rossi"), ("Bianchi", "bianchi"), ("Keller", "keller"),
         ("Tanaka", "tanaka"), ("Sato", "sato"), ("Sharma", "sharma"), ("Patel", "patel"), ("Tan", "tan"),
         ("Lim", "lim"), ("Silva", "silva"), ("Santos", "santos"), ("Hernández", "hernandez"), ("López", "lopez"),
         ("O'Brien", "obrien"), ("Novak", "novak"), ("Kowalski", "kowalski"), ("Nguyen", "nguyen"), ("Kim", "kim"))

#: country -> (calling code, area codes, legal form)
_COUNTRY = {
    "DE": ("+49", ("30", "40", "89", "69", "221"), "GmbH"), "GB": ("+44", ("20", "161", "121"), "Ltd"),
    "FR": ("+33", ("1", "4", "6"), "SA"), "NL": ("+31", ("20", "10", "30"), "B.V."),
    "SE": ("+46", ("8", "31"), "AB"), "ES": ("+34", ("91", "93"), "S.L."), "IT": ("+39", ("02", "06"), "S.p.A."),
    "CH": ("+41", ("44", "22"), "AG"), "US": ("+1", ("212", "415", "312", "617"), "Inc."),
    "CA": ("+1", ("416", "604"), "Inc."), "AU": ("+61", ("2", "3"), "Pty Ltd"), "JP": ("+81", ("3", "6"), "K.K."),
    "SG": ("+65", ("6",), "Pte Ltd"), "IN": ("+91", ("22", "80"), "Pvt Ltd"), "BR": ("+55", ("11", "21"), "Ltda"),
    "MX": ("+52", ("55", "33"), "S.A. de C.V."), "AR": ("+54", ("11",), "S.A."), "CL": ("+56", ("2",), "SpA"),
}
COUNTRIES = tuple(_COUNTRY)

_PREFIXES = ("Kessler", "Nordlicht", "Bergmann", "Alpenrot", "Lindqvist", "Harbor", "Bluefin", "Redwood",
             "Silverline", "Oakridge", "Brightwater", "Ironbridge", "Crescent", "Evergreen", "Falcon", "Granite",
             "Helix", "Juniper", "Keystone", "Lumen", "Meridian", "Northgate", "Orion", "Pinnacle", "Quartz",
             "Riverside", "Sterling", "Tidewater", "Vantage", "Westbrook", "Zenith", "Aurora", "Beacon", "Cobalt",
             "Ember", "Fjord", "Glacier", "Hawthorn", "Larkspur", "Mistral")
_SUFFIXES = {
    "Software": ("Software", "Labs", "Systems", "Cloud"), "Manufacturing": ("Industries", "Werke", "Components",
                                                                           "Manufacturing"),
    "Financial Services": ("Bank", "Capital", "Finance", "Invest"), "Retail": ("Store", "Shop", "Goods", "Boutique"),
    "Healthcare": ("Health", "Clinic", "Medical", "Care"), "Education": ("University", "College", "Academy",
                                                                         "Schools"),
    "Logistics": ("Logistics", "Freight"), "Energy": ("Energy", "Power"), "Media": ("Media", "Studios"),
    "Professional Services": ("Consulting", "Partners"), "Insurance": ("Insurance", "Assurance"),
    "Telecommunications": ("Telecom", "Networks"),
}

_TITLES = {  # job level -> one (title, variant) pair per department, in world.DEPARTMENTS order
    "C-level": (("Chief Marketing Officer", "CMO"), ("Chief Revenue Officer", "CRO"),
                ("Chief Information Officer", "CTO"), ("Chief Financial Officer", "CFO"),
                ("Chief Operating Officer", "COO"), ("Chief People Officer", "Chief HR Officer")),
    "VP": (("VP Marketing", "VP Demand Generation"), ("VP Sales", "VP Business Development"), ("VP IT", "VP Data"),
           ("VP Finance", "VP Controlling"), ("VP Operations", "VP Supply Chain"), ("VP People", "VP HR")),
    "Director": (("Director of Marketing", "Marketing Director"), ("Sales Director", "Director of Sales"),
                 ("IT Director", "Director of Analytics"), ("Finance Director", "Head of Controlling"),
                 ("Director of Operations", "Operations Director"), ("HR Director", "Head of HR")),
    "Manager": (("Marketing Manager", "Demand Generation Manager"), ("Sales Manager", "Sales Operations Manager"),
                ("IT Manager", "BI Manager"), ("Finance Manager", "Controller"),
                ("Operations Manager", "Process Manager"), ("HR Manager", "Talent Manager")),
    "Individual Contributor": (("Marketing Specialist", "Marketing Analyst"), ("Account Executive", "SDR"),
                               ("Systems Engineer", "Data Analyst"), ("Financial Analyst", "Accountant"),
                               ("Operations Analyst", "Planner"), ("HR Generalist", "Recruiter")),
}
_TITLE_TABLE = np.array([[pair for pair in _TITLES[level]] for level in world.JOB_LEVELS], dtype=object)


def _lut(values):
    return np.array(values, dtype=object)


def person_names(rng, n):
    """Draw first and last names, with the ``first.last@`` part of their e-mail address.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of people.

    Returns
    -------
    tuple of numpy.ndarray
        ``(first_name, last_name, mailbox)``, object arrays; ``mailbox + domain`` is the address.
    """
    f = rng.integers(0, len(_FIRST), n)
    la = rng.integers(0, len(_LAST), n)
    mailbox = _lut([[f"{a[1]}.{b[1]}@" for b in _LAST] for a in _FIRST])
    return _lut([a[0] for a in _FIRST])[f], _lut([b[0] for b in _LAST])[la], mailbox[f, la]


def colleague_addresses(rng, domain):
    """Addresses such as ``j.keller@meridian-bank.test`` of other people at the given domains.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    domain : numpy.ndarray
        Domain of each address.

    Returns
    -------
    numpy.ndarray
        Object array of e-mail addresses.
    """
    n = len(domain)
    mailbox = _lut([[f"{a[1][0]}.{b[1]}@" for b in _LAST] for a in _FIRST])
    return mailbox[rng.integers(0, len(_FIRST), n), rng.integers(0, len(_LAST), n)] + domain


def phones(rng, country):
    """Draw phone numbers such as ``+49 30 1234567`` for the given ISO2 countries.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    country : numpy.ndarray
        ISO2 country codes (object array).

    Returns
    -------
    numpy.ndarray
        Object array of phone numbers.
    """
    n = len(country)
    prefix = _lut([[f"{code} {areas[k % len(areas)]} " for k in range(5)] for code, areas, _ in _COUNTRY.values()])
    head = _lut([str(k) for k in range(100, 1000)])
    tail = _lut([f"{k:04d}" for k in range(10000)])
    return (prefix[country_index(country), rng.integers(0, 5, n)] + head[rng.integers(0, 900, n)]) \
        + tail[rng.integers(0, 10000, n)]


def job_titles(rng, level, department):
    """Job title for each (job level, department) pair, with a second wording for variety.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    level, department : numpy.ndarray
        Integer indices into ``world.JOB_LEVELS`` and ``world.DEPARTMENTS``.

    Returns
    -------
    numpy.ndarray
        Object array of job titles.
    """
    return _TITLE_TABLE[level, department, (rng.random(len(level)) < 0.3).astype(int)]


def company_names(rng, industry, country):
    """Company names and web domains, e.g. ``Kessler Systems GmbH`` and ``kessler-systems.test``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    industry : numpy.ndarray
        Integer indices into ``world.INDUSTRIES``.
    country : numpy.ndarray
        ISO2 country codes (object array).

    Returns
    -------
    tuple of numpy.ndarray
        ``(name, domain)`` object arrays.
    """
    n = len(industry)
    prefix = rng.integers(0, len(_PREFIXES), n)
    suffix = rng.integers(0, 4, n)
    table = [[_SUFFIXES[name][k % len(_SUFFIXES[name])] for k in range(4)] for name in world.INDUSTRIES]
    words = _lut(table)[industry, suffix]
    slugs = _lut([[w.lower() for w in row] for row in table])[industry, suffix]
    legal_form = _lut([v[2] for v in _COUNTRY.values()])[country_index(country)]
    name = _lut(_PREFIXES)[prefix] + " " + words + " " + legal_form
    domain = _lut([p.lower() for p in _PREFIXES])[prefix] + "-" + slugs + ".test"
    return name, domain


def locations(rng, n):
    """Draw regions and countries; the mix is the same for every segment (a noise attribute).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of places.

    Returns
    -------
    tuple of numpy.ndarray
        ``(region, country)`` object arrays.
    """
    names = tuple(world.REGIONS)
    region = categorical(rng, np.array([[world.REGIONS[r][0] for r in names]]), np.zeros(n, int))
    countries = mix_table([dict(zip(world.REGIONS[r][1], world.REGIONS[r][2])) for r in names], COUNTRIES)
    return _lut(names)[region], _lut(COUNTRIES)[categorical(rng, countries, region)]


def country_index(country):
    """Position of each ISO2 code in ``COUNTRIES``.

    Parameters
    ----------
    country : numpy.ndarray
        ISO2 country codes.

    Returns
    -------
    numpy.ndarray
        Integer indices.
    """
    order = np.argsort(COUNTRIES)
    return order[np.searchsorted(np.array(COUNTRIES)[order], np.asarray(country).astype(str))]
