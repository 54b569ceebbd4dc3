"""The only room that writes HTML: results and executed notebooks to shareable pages (Jinja templates in templates/).

html (results to HTML), pages (notebook -> page), cards (headline figures), overview (a period's
overview), index (all periods), safety and pii (what must not be shared), build (a period's report).
"""
