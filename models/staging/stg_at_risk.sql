{{ union_district_sources('at_risk', [
    ('at_risk_id', 'integer'),
    ('person_id', 'integer'),
    ('calendar_id', 'integer'),
    ('reason_code', 'text'),
    ('state_code', 'text'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('modified_date', 'timestamp with time zone'),
]) }}
