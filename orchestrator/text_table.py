"""Plain-text output for people: aligned tables (drawn by rich) and numbers written one way.

Every command and summary that shows a table or a count goes through here, so `20,981` reads the
same in `resync run`, `resync aggregate` and `resync demo`, and a name holding a control
character (a carriage return that would overwrite the line) is shown escaped, never obeyed.
"""

from __future__ import annotations

import io
import unicodedata
from decimal import Decimal
from typing import Any, Sequence


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def count_text(value: int) -> str:
    """A count as every command writes it: 20,981."""
    return f"{value:,}"


def visible(text: str) -> str:
    """`text` with control and format characters escaped (`\\r` stays two visible characters)."""
    if text.isprintable():
        return text
    return "".join(c if unicodedata.category(c)[0] != "C" else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def cell_text(value: Any) -> str:
    """How a table shows a value: counts with thousands separators, seconds to the hundredth,
    nothing as "-"."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return count_text(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, Decimal):
        return f"{value:,}"  # as many places as the query rounded to
    return visible(str(value))


def render(rows: Sequence[dict], columns: Sequence[str], *, headers: dict[str, str] | None = None,
           right: Sequence[str] = (), indent: int = 0) -> str:
    """An aligned text table of `rows` (dicts) in `columns`, headed by the column names (or
    `headers`); columns of numbers, and those in `right`, are right-aligned.

    rich draws it (no borders, two spaces between columns, no colours), at any width: output is
    often piped or logged, where wrapping a row would break it.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    numeric = {c for c in columns if any(_is_number(r.get(c)) for r in rows)
               and all(r.get(c) is None or _is_number(r.get(c)) for r in rows)} | set(right)
    grid = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0), header_style="",
                 show_header=True)
    for column in columns:
        grid.add_column(Text((headers or {}).get(column, column)), justify="right" if column in numeric else "left",
                        no_wrap=True)
    for row in rows:
        grid.add_row(*(Text(cell_text(row.get(column))) for column in columns))
    out = io.StringIO()
    Console(file=out, width=100_000, color_system=None, force_terminal=False, highlight=False,
            emoji=False, markup=False, legacy_windows=False).print(grid)
    prefix = " " * indent
    return "\n".join(prefix + line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())
