"""District sites: where each district's data lives, and the pulls that copy it into the landing.

- site_url: a district server's URL, kept without its password;
- landing_tables: the landing's tables, keys and year scoping (from dbt's sources);
- reader: one consistent, read-only snapshot of a district's source;
- pull: the differences between that snapshot and the landing, applied in one state transaction.
"""
