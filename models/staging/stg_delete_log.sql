{{ union_district_sources('delete_log', [
    ('log_id', 'bigint'),
    ('table_name', 'text'),
    ('record_id', 'bigint'),
    ('person_id', 'bigint'),
    ('deleted_row', 'jsonb'),
    ('deleted_at', 'timestamp with time zone'),
]) }}
