"""The generated districts that `generated_url` (tests/conftest.py) gives a test, as constants.

Import them (`from generated_data import SCHOOL_YEAR, AS_OF`) instead of repeating numbers. The
data is built once per test session with `resync demo generate`'s own code, as if today were
AS_OF: calendars, schedules and enrollments cover the whole 2023-2024 year, attendance exists on
school days before AS_OF, so `resync demo change` still has school days ahead to record.
"""

from __future__ import annotations

from datetime import date

#: End year of the generated school year (2023-2024).
SCHOOL_YEAR = 2024
#: "Today" for the generated districts: attendance exists for school days before it.
AS_OF = date(2024, 4, 15)
#: The last school day with attendance (a Friday); `demo change` records the days after it.
ATTENDANCE_THROUGH = date(2024, 4, 12)
#: A school day in every generated calendar on which attendance is not taken (state testing).
NO_ATTENDANCE_DAY = date(2024, 4, 17)
#: The first student day of every generated calendar that year (teachers start on 2023-08-14).
FIRST_SCHOOL_DAY = date(2023, 8, 16)
SEED = 1
SCHOOLS = 2  # per district: an elementary (KG-05) and a secondary school (06-12)
STUDENTS = 80  # per district
#: The three demo districts, registered in that order: code, name, source schema.
DISTRICTS = (
    ("01", "Abbott", "district_01"),
    ("02", "Campus", "district_02"),
    ("03", "Cedar Valley", "district_03"),
)
