{{ union_district_sources('section', [
    ('section_id', 'integer'),
    ('course_id', 'integer'),
    ('number', 'text'),
    ('teacher_person_id', 'integer'),
    ('modified_date', 'timestamp with time zone'),
]) }}
