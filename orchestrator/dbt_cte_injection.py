"""dbt's placing of ephemeral models' CTEs in front of a model's SQL, without parsing all of it.

dbt (`dbt.compilation.inject_ctes_into_sql`) parses a model's whole compiled SQL with sqlparse
(tokens, then grouping) only to find its leading WITH. The attendance aggregation compiles to one
chain of CTEs per district: about 300 KB for a state of 17 districts, which sqlparse takes 3 to
4 seconds to parse on every run, a tenth of a nightly run. The WITH is among the first tokens,
so this reads sqlparse's token stream only that far and puts the CTEs where dbt puts them,
giving the same text. Whatever it does not recognise (SQL that does not start with WITH, a
semicolon anywhere) goes to dbt's own function. No library does this: it is the one step of dbt's
compile that grows with the size of the model's text rather than its graph.

`install()` swaps it in for the runs this process makes; `dbt` run from a shell is unchanged.
"""

from __future__ import annotations

import threading

from sqlparse import lexer
from sqlparse import tokens as T

_original = None  # dbt's own function, once install() replaced it
_installing = threading.Lock()


def inject_ctes_into_sql(sql: str, ctes: list) -> str:
    """As dbt's: `ctes` (dbt's InjectedCTE, each `.sql` like ` __dbt__cte__x as (...)`) after
    the leading WITH [RECURSIVE], before the SQL's first CTE, followed by a comma."""
    if not ctes:
        return sql
    at = _after_leading_with(sql) if ";" not in sql else None
    if at is None:
        return dbts_own(sql, ctes)
    return sql[:at] + ", ".join(c.sql for c in ctes) + ", " + sql[at:]


def _after_leading_with(sql: str) -> int | None:
    """Where dbt inserts the CTEs when the SQL's first keyword (after whitespace and comments) is
    WITH: the start of the first token after it (and after RECURSIVE) that is not whitespace.
    None when the SQL does not start that way."""
    offset = 0
    state = "start"  # then "with", then "recursive"
    for ttype, value in lexer.tokenize(sql):
        keyword = value.upper() if ttype in T.Keyword else None
        if ttype in T.Whitespace or (state == "start" and ttype in T.Comment):
            pass
        elif state == "start" and keyword == "WITH":
            state = "with"
        elif state == "with" and keyword == "RECURSIVE":
            state = "recursive"
        elif state == "start":
            return None
        else:
            return offset
        offset += len(value)
    return None


def install() -> None:
    """Use this module's function for the dbt compiles of this process (once; later calls keep
    whatever is in place). Under a lock: two threads must not both take the original."""
    global _original
    from dbt import compilation

    with _installing:
        if _original is None:
            _original = compilation.inject_ctes_into_sql
            compilation.inject_ctes_into_sql = inject_ctes_into_sql


def dbts_own(sql: str, ctes: list) -> str:
    """dbt's own function, for comparison."""
    install()
    return _original(sql, ctes)
