"""A tiny hand-made district: a row or a few in every source table, for two school years.

Small on purpose: the state-table tests check which rows a run replaces, not what the data says.
Names carry the district code, so two districts' rows differ.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_SOURCES = """
insert into district values ('{code}', 'District {code}', 'S{code}');
insert into school (school_id, number, name, state_school_number) values
    (1, '100', 'North {code}', 'N{code}'), (2, '200', 'South {code}', 'S{code}');
insert into calendar (calendar_id, school_id, end_year, name, start_date, end_date) values
    (10, 1, {year}, 'North {year}', '{prev}-08-20', '{year}-05-30'),
    (11, 2, {year}, 'South {year}', '{prev}-08-20', '{year}-05-30'),
    (9, 1, {prev}, 'North {prev}', '{before}-08-20', '{prev}-05-30');
insert into schedule_structure values
    (20, 10, 'Main', true), (21, 11, 'Main', true), (19, 9, 'Main', true);
insert into term_schedule values (30, 20, 'Semesters'), (31, 21, 'Semesters'), (29, 19, 'Year');
insert into term (term_id, term_schedule_id, name, seq, start_date, end_date) values
    (300, 30, 'S1', 1, '{prev}-08-20', '{prev}-12-20'), (301, 30, 'S2', 2, '{year}-01-05', '{year}-05-30'),
    (310, 31, 'Year', 1, '{prev}-08-20', '{year}-05-30'), (290, 29, 'Year', 1, '{before}-08-20', '{prev}-05-30');
insert into period_schedule values (40, 20, 'Normal'), (41, 21, 'Normal'), (39, 19, 'Normal');
insert into period (period_id, period_schedule_id, name, seq, period_minutes, non_instructional) values
    (400, 40, '1', 1, 60, false), (401, 40, '2', 2, 60, false), (402, 40, 'Lunch', 3, 30, true),
    (410, 41, '1', 1, 90, false), (390, 39, '1', 1, 60, false);
insert into day (day_id, calendar_id, structure_id, period_schedule_id, date, instruction, attendance) values
    (500, 10, 20, 40, '{prev}-09-01', true, true), (501, 10, 20, 40, '{prev}-09-02', true, true),
    (502, 10, 20, 40, '{prev}-09-05', false, false), (510, 11, 21, 41, '{prev}-09-01', true, true),
    (490, 9, 19, 39, '{before}-09-01', true, true);
insert into school_month values (600, 10, 'September', 1, '{prev}-08-20', '{prev}-09-30'),
    (610, 11, 'September', 1, '{prev}-08-20', '{prev}-09-30'), (590, 9, 'September', 1, '{before}-08-20', '{before}-09-30');
insert into structure_grade_level (grade_level_id, calendar_id, structure_id, name, state_grade) values
    (700, 10, 20, '09', '09'), (710, 11, 21, '10', '10'), (690, 9, 19, '08', '08');
insert into person (person_id, state_id, current_identity_id) values
    (1, 'ST{code}1', 801), (2, 'ST{code}2', 802), (3, 'ST{code}3', null);
insert into identity (identity_id, person_id, last_name, first_name, gender, birth_date) values
    (801, 1, 'Ames {code}', 'Ann', 'F', '2010-01-01'), (802, 2, 'Bell {code}', 'Bo', 'M', '2009-02-02'),
    (800, 1, 'Old {code}', 'Ann', 'F', '2010-01-01');
insert into enrollment (enrollment_id, person_id, calendar_id, structure_id, grade_level_id, service_type, start_date, end_date) values
    (900, 1, 10, 20, 700, 'P', '{prev}-08-20', null), (901, 2, 10, 20, 700, 'P', '{prev}-08-20', '{prev}-09-01'),
    (902, 2, 11, 21, 710, 'S', '{prev}-08-20', null), (890, 1, 9, 19, 690, 'P', '{before}-08-20', null);
insert into attendance_excuse (excuse_id, calendar_id, code, description, status, excuse, state_code) values
    (1000, 10, 'UA', 'Unexcused absence', 'A', 'U', 'UNX'), (1001, 10, 'EX', 'Illness', 'A', 'E', 'EXC'),
    (1010, 11, 'UA', 'Unexcused absence', 'A', 'U', null), (990, 9, 'UA', 'Unexcused absence', 'A', 'U', 'UNX');
insert into course values (1100, 10, 'ENG9', 'English 9', 'E09'), (1110, 11, 'ENG10', 'English 10', 'E10'),
    (1090, 9, 'ENG8', 'English 8', 'E08');
insert into section (section_id, course_id, number, teacher_person_id) values
    (1200, 1100, '1', 3), (1210, 1110, '1', 3), (1190, 1090, '1', 3);
insert into section_placement values (1300, 1200, 400, 300), (1301, 1200, 401, 300),
    (1310, 1210, 410, 310), (1290, 1190, 390, 290);
insert into roster (roster_id, person_id, section_id, start_date, end_date) values
    (1400, 1, 1200, null, null), (1401, 2, 1200, null, null), (1402, 2, 1210, null, null),
    (1390, 1, 1190, null, null);
insert into attendance (attendance_id, person_id, calendar_id, period_id, date, status, excuse, excuse_id) values
    (1500, 1, 10, 400, '{prev}-09-01', 'A', null, 1000), (1501, 2, 10, 401, '{prev}-09-02', 'A', 'E', null),
    (1502, 1, 10, 400, '{prev}-09-05', 'A', null, null), (1490, 1, 9, 390, '{before}-09-01', 'T', null, null);
insert into behavior_resolution_type values (1600, 'SUS', 'Suspension', 'S1'), (1601, 'DET', 'Detention', null);
insert into behavior_event values (1700, 10, '{prev}-09-02', 'FIGHT', 'Fighting', 'F1'),
    (1690, 9, '{before}-09-01', 'TARDY', 'Tardiness', null);
insert into behavior_role values (1800, 1700, 1, 'Offender'), (1801, 1700, 2, 'Victim'), (1790, 1690, 1, 'Offender');
insert into behavior_resolution (resolution_id, role_id, resolution_type_id, start_date, end_date) values
    (1900, 1800, 1600, '{prev}-09-03', '{prev}-09-04'), (1901, 1800, 1601, '{prev}-09-05', null);
insert into at_risk (at_risk_id, person_id, calendar_id, reason_code, state_code, start_date) values
    (2000, 1, 10, 'ATT', 'AR1', '{prev}-09-01'), (1990, 1, 9, 'ATT', 'AR1', '{before}-09-01');
insert into adult_ed (adult_ed_id, person_id, calendar_id, program_code, state_code, start_date) values
    (2100, 3, 11, 'GED', 'AE1', '{prev}-09-01');
insert into alpss (alpss_id, person_id, calendar_id, program_code, state_code, start_date) values
    (2200, 2, 11, 'ALP', 'AL1', '{prev}-09-01');
"""


def fill(conn: Connection, schema: str, code: str, year: int) -> None:
    """Fill a fresh district source schema; `year` is the end year of the newer school year."""
    conn.execute(sa.text(f'set local search_path to "{schema}"'))
    with conn.connection.cursor() as cursor:
        cursor.execute(_SOURCES.format(code=code, year=year, prev=year - 1, before=year - 2))
    conn.execute(sa.text("set local search_path to default"))

