"""Demo data: a realistic district generator and a day of district changes.

- `generate` fills registered districts' source schemas with a generated school year;
- `apply_changes` applies what a district does in a school day (new and backdated attendance,
  deletes, a withdrawal, a roster change, an excuse code edit, now and then a day flag);
- `setup` is everything `make demo` does; `select_districts` resolves -d/--districts.
"""

from __future__ import annotations

from .changes import CHANGE_KINDS, apply_changes, describe_changes
from .demo_districts import DEMO_DISTRICTS, describe_setup, select_districts, setup
from .generator import DEMO_SCHOOLS, DEMO_STUDENTS, describe, generate
from .school_year import current_school_year

__all__ = [
    "CHANGE_KINDS", "DEMO_DISTRICTS", "DEMO_SCHOOLS", "DEMO_STUDENTS", "apply_changes", "current_school_year", "describe",
    "describe_changes", "describe_setup", "generate", "select_districts", "setup",
]
