"""A hand-made district that exercises every rule of the daily attendance aggregation (domain.md
section 4), small enough to work out by hand. tests/test_att_day_aggregation.py derives its
expected rows; tests/test_incremental_aggregation.py changes it.

Calendar 1 (school year 2024, reported): thresholds whole 180, half 90.
  Normal bell schedule (period_schedule 1):     101 P1 seq1 60 | 102 P2 seq2 60 | 103 Lunch seq3 30
                                                (non-instructional) | 104 P3 seq4 60 | 105 P4 seq5 60
  Early-release schedule (period_schedule 2):   201 P1 seq1 40 | 202 P2 seq2 40 | 203 Lunch seq3 30
                                                (non-instructional) | 204 P3 seq4 40 | 205 P4 seq5 40
  Days: 09-04 Mon normal, 09-05 Tue normal, 09-06 Wed early release, 09-07 Thu instruction but no
        attendance, 09-08 Fri holiday (no instruction), 09-11 Mon normal.
  Terms: term 1 09-01..09-08, term 2 09-11..09-15.
  Sections: 11 Math in 101 (terms 1, 2); 21 English in 102 (terms 1, 2); 31 Science in 104 (term 1);
            41 Art in 105 (term 2); 51 Homeroom in 103, the lunch period (terms 1, 2).
  Grade levels: 1 = grade 9 (no overrides), 2 = grade 10 (whole 120, half 60).
  Codes: 1 EX A/E | 2 UX A/U | 3 T T/- | 4 ER E/- | 5 XM A/X | 6 PR P/- | 7 XP P/X | 8 AN A/-
Calendar 2: same year, excluded from state reporting. Calendar 3: school year 2023; its section
61 meets in a period of seq 4, like calendar 1's P3.
"""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator import database, migrations, registry

SCHOOL_YEAR = 2024

DISTRICT_SQL = """
insert into school (school_id, number, name) values (1, '1', 'North');
insert into calendar (calendar_id, school_id, end_year, name, start_date, end_date,
                      whole_day_absence_minutes, half_day_absence_minutes, exclude) values
    (1, 1, 2024, 'North 23-24', '2023-08-20', '2024-05-30', 180, 90, false),
    (2, 1, 2024, 'North evening 23-24', '2023-08-20', '2024-05-30', 180, 90, true),
    (3, 1, 2023, 'North 22-23', '2022-08-20', '2023-12-30', 180, 90, false);
insert into schedule_structure (structure_id, calendar_id, name, is_primary) values
    (1, 1, 'Main', true), (2, 2, 'Evening', true), (3, 3, 'Main', true);
insert into period_schedule (period_schedule_id, structure_id, name) values
    (1, 1, 'Normal'), (2, 1, 'Early release'), (3, 2, 'Evening'), (4, 3, 'Normal');
insert into period (period_id, period_schedule_id, name, seq, period_minutes, non_instructional) values
    (101, 1, 'P1', 1, 60, false), (102, 1, 'P2', 2, 60, false), (103, 1, 'Lunch', 3, 30, true),
    (104, 1, 'P3', 4, 60, false), (105, 1, 'P4', 5, 60, false),
    (201, 2, 'P1', 1, 40, false), (202, 2, 'P2', 2, 40, false), (203, 2, 'Lunch', 3, 30, true),
    (204, 2, 'P3', 4, 40, false), (205, 2, 'P4', 5, 40, false),
    (301, 3, 'E1', 1, 60, false),
    (401, 4, 'P3', 4, 60, false);
insert into term_schedule (term_schedule_id, structure_id, name) values
    (1, 1, 'Semesters'), (2, 2, 'Year'), (3, 3, 'Year');
insert into term (term_id, term_schedule_id, name, seq, start_date, end_date) values
    (1, 1, 'T1', 1, '2023-09-01', '2023-09-08'),
    (2, 1, 'T2', 2, '2023-09-11', '2023-09-15'),
    (3, 2, 'Y', 1, '2023-09-01', '2023-09-15'),
    (4, 3, 'Y', 1, '2023-09-01', '2023-09-30');
insert into day (day_id, calendar_id, structure_id, period_schedule_id, date, instruction, attendance) values
    (1, 1, 1, 1, '2023-09-04', true, true),
    (2, 1, 1, 1, '2023-09-05', true, true),
    (3, 1, 1, 2, '2023-09-06', true, true),
    (4, 1, 1, 1, '2023-09-07', true, false),
    (5, 1, 1, null, '2023-09-08', false, false),
    (6, 1, 1, 1, '2023-09-11', true, true),
    (7, 2, 2, 3, '2023-09-04', true, true),
    (8, 3, 3, 4, '2023-09-04', true, true);
insert into structure_grade_level (grade_level_id, calendar_id, structure_id, name, state_grade,
                                   whole_day_absence_minutes, half_day_absence_minutes) values
    (1, 1, 1, '09', '09', null, null),
    (2, 1, 1, '10', '10', 120, 60),
    (3, 2, 2, '09', '09', null, null),
    (4, 3, 3, '09', '09', null, null);
insert into attendance_excuse (excuse_id, calendar_id, code, description, status, excuse, state_code) values
    (1, 1, 'EX', 'Excused absence', 'A', 'E', 'EA'),
    (2, 1, 'UX', 'Unexcused absence', 'A', 'U', 'UA'),
    (3, 1, 'T', 'Tardy', 'T', null, 'T'),
    (4, 1, 'ER', 'Early release', 'E', null, 'ER'),
    (5, 1, 'XM', 'Exempt absence', 'A', 'X', 'XA'),
    (6, 1, 'PR', 'Present', 'P', null, 'P'),
    (7, 1, 'XP', 'Exempt, present', 'P', 'X', 'XP'),
    (8, 1, 'AN', 'Absent, no excuse given', 'A', null, 'AN');
insert into course (course_id, calendar_id, number, name) values
    (1, 1, 'M1', 'Math'), (2, 1, 'E1', 'English'), (3, 1, 'S1', 'Science'), (4, 1, 'A1', 'Art'),
    (5, 1, 'H1', 'Homeroom'), (6, 3, 'S0', 'Science 22-23'), (7, 2, 'N1', 'Evening Math');
insert into section (section_id, course_id, number) values
    (11, 1, '1'), (21, 2, '1'), (31, 3, '1'), (41, 4, '1'), (51, 5, '1'), (61, 6, '1'), (71, 7, '1');
insert into section_placement (placement_id, section_id, period_id, term_id) values
    (1, 11, 101, 1), (2, 11, 101, 2), (3, 21, 102, 1), (4, 21, 102, 2), (5, 31, 104, 1),
    (6, 41, 105, 2), (7, 51, 103, 1), (8, 51, 103, 2), (9, 61, 401, 4), (10, 71, 301, 3);
insert into person (person_id, state_id)
    select n, 'S' || n from generate_series(1, 11) as n;
insert into enrollment (enrollment_id, person_id, calendar_id, structure_id, grade_level_id, service_type,
                        start_date, end_date, no_show, state_exclude) values
    (1, 1, 1, 1, 1, 'P', '2023-09-01', null, false, false),
    (2, 2, 1, 1, 1, 'S', '2023-09-01', null, false, false),   -- secondary, lower id: no grade
    (3, 2, 1, 1, 2, 'P', '2023-09-01', null, false, false),   -- primary: grade 10 (overrides)
    (4, 3, 1, 1, 1, 'P', '2023-09-01', null, false, false),
    (5, 4, 1, 1, 1, 'P', '2023-09-01', null, true, false),    -- no-show
    (6, 5, 1, 1, 1, 'P', '2023-09-01', null, false, true),    -- state_exclude
    (7, 6, 1, 1, 1, 'P', '2023-09-01', null, false, false),   -- never rostered
    (8, 7, 2, 2, 3, 'P', '2023-09-01', null, false, false),   -- excluded calendar
    (9, 8, 1, 1, 1, 'P', '2023-09-05', '2023-09-06', false, false),
    (10, 9, 1, 1, 1, 'P', '2023-09-01', null, false, false),
    (20, 10, 1, 1, 1, 'P', '2023-09-01', null, true, false),  -- no-show primary: does not qualify
    (21, 10, 1, 1, 2, 'N', '2023-09-01', null, false, false), -- lowest qualifying id: grade 10
    (22, 10, 1, 1, 1, 'S', '2023-09-01', null, false, false),
    (23, 11, 3, 3, 4, 'P', '2022-09-01', null, false, false); -- other school year
insert into roster (roster_id, person_id, section_id, start_date, end_date) values
    (1, 1, 11, '2023-09-01', null), (2, 1, 21, '2023-09-01', null), (3, 1, 31, '2023-09-01', null),
    (4, 1, 41, '2023-09-01', null), (5, 1, 51, '2023-09-01', null),
    (6, 2, 11, '2023-09-01', null), (7, 2, 21, '2023-09-01', null), (8, 2, 31, '2023-09-01', null),
    (9, 3, 11, '2023-09-01', null), (10, 3, 21, '2023-09-01', null), (11, 3, 31, '2023-09-01', null),
    (12, 4, 11, '2023-09-01', null), (13, 5, 11, '2023-09-01', null),
    (14, 7, 71, '2023-09-01', null),
    (15, 8, 11, '2023-09-04', '2023-09-05'), (16, 8, 21, '2023-09-06', null), (17, 8, 31, null, null),
    (18, 9, 11, '2023-09-01', null), (19, 9, 61, '2023-09-01', null), (20, 9, 51, '2023-09-01', null),
    (21, 10, 11, '2023-09-01', null),
    (22, 11, 61, '2022-09-01', null);
insert into attendance (attendance_id, person_id, calendar_id, period_id, date, status, excuse,
                        excuse_id, present_minutes) values
    -- student 1
    (1, 1, 1, 103, '2023-09-04', 'A', 'U', 2, null),   -- lunch: not instructional
    (2, 1, 1, 101, '2023-09-05', 'A', 'U', null, null),
    (3, 1, 1, 102, '2023-09-05', 'P', null, 1, null),  -- code EX wins over the row's P
    (4, 1, 1, 104, '2023-09-05', 'A', 'U', 3, null),   -- code T: tardy; the row's U stays
    (5, 1, 1, 201, '2023-09-06', 'A', 'U', 2, 10),     -- 40 minutes, 10 present
    (6, 1, 1, 101, '2023-09-06', 'A', 'U', 2, null),   -- normal schedule's P1: not that day's
    (7, 1, 1, 204, '2023-09-06', 'A', 'U', 5, null),   -- code XM: exempt
    (8, 1, 1, 101, '2023-09-07', 'A', 'U', 2, null),   -- no attendance taken that day
    (9, 1, 1, 101, '2023-09-11', 'A', 'U', 2, null),
    (10, 1, 1, 102, '2023-09-11', 'A', 'U', 2, null),
    (11, 1, 1, 105, '2023-09-11', 'A', 'U', 1, null),
    (12, 1, 1, 104, '2023-09-11', 'A', 'U', 1, null),  -- Science ended with term 1
    -- student 2
    (20, 2, 1, 101, '2023-09-04', 'P', null, 8, null),
    (21, 2, 1, 102, '2023-09-04', 'A', 'E', 8, null),  -- code AN: no excuse, the row's E stays
    (22, 2, 1, 104, '2023-09-04', 'A', null, 1, null),
    (23, 2, 1, 101, '2023-09-05', 'A', null, 2, null),
    (24, 2, 1, 102, '2023-09-05', 'A', null, 1, null),
    (25, 2, 1, 202, '2023-09-06', 'A', null, 8, 25),
    -- student 3
    (30, 3, 1, 101, '2023-09-04', 'T', null, null, 50),
    (31, 3, 1, 102, '2023-09-04', 'A', 'U', 4, null),  -- code ER: early release wins over A
    (32, 3, 1, 104, '2023-09-04', 'A', 'U', 6, null),  -- code PR: present
    (33, 3, 1, 101, '2023-09-05', 'A', 'U', null, null),
    (34, 3, 1, 102, '2023-09-05', 'A', 'U', null, null),
    (35, 3, 1, 201, '2023-09-06', 'A', 'U', 7, null),  -- code XP: present, exempt
    (36, 3, 1, 202, '2023-09-06', 'A', 'X', null, null),
    (37, 3, 1, 204, '2023-09-06', 'A', 'E', null, 0),
    (38, 3, 1, 101, '2023-09-11', 'A', 'U', null, 70),
    -- students who get no row at all
    (40, 4, 1, 101, '2023-09-04', 'A', 'U', null, null),
    (41, 6, 1, 101, '2023-09-04', 'A', 'U', null, null),
    (42, 7, 2, 301, '2023-09-04', 'A', 'U', null, null),
    -- student 9
    (50, 9, 1, 104, '2023-09-04', 'A', 'U', 2, null),  -- seq 4 only via another year's section
    (51, 9, 1, 101, '2023-09-05', 'A', null, null, null),
    -- student 10
    (60, 10, 1, 101, '2023-09-04', 'A', 'U', null, null);
"""


def load(url: str) -> None:
    """Register district 01 in the database at `url` and fill its sources with the district above."""
    with database.transaction(url) as conn:
        migrations.ensure_tool_schema(conn)
        schema = registry.add(conn, "01", "Hand-made").schema_name
        conn.execute(sa.text(f'set local search_path to "{schema}"'))
        database.run_script(conn, DISTRICT_SQL)
