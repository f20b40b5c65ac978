{#-
    The incremental attendance aggregation: which mode a run is in, and the per-district watermarks
    (resync.aggregation_watermark) that say how far each district's sources have been aggregated.

    Why a watermark taken this way never lets a change fall between two runs. The aggregation
    reads the landing, which only pulls write, in this database: its triggers stamp
    modified_date (and delete_log.deleted_at) with now(), the *start* of the pull's transaction,
    and a change becomes visible only when that transaction commits, possibly much later. The run
    reads its changes with a statement snapshot S taken after the pre-hook below. Any change that
    S does not see comes from a transaction T that had not committed when S was taken, so T was
    either already running when the pre-hook read pg_stat_activity (then T's stamp is T's
    xact_start >= the watermark, the least of those), or T started after that read (then T's stamp
    is later than this run's own start, now(), which is >= the watermark). Either way the next
    run, reading `stamp >= watermark`, sees it. Reading again what S did see is harmless: a
    recompute is idempotent. The watermark is written by the post-hook inside the model's
    transaction, so it advances only when the recomputed rows commit.

    Because the stamps are the state's own, nothing at the district can break this: its clock,
    its triggers (or their absence), replication that applies rows with triggers off, a table
    truncated and reloaded. A change at the district reaches the aggregation when a pull copies
    it (every aggregation pulls first), and that pull is a transaction here like any other. The
    landing's triggers fire ALWAYS, so not even a session in session_replication_role = replica
    writes the landing unstamped.
-#}

{% macro att_day_incremental_mode() %}
    {#- True when this run recomputes only the affected keys: the `aggregation_mode` var says
        incremental and the state table already exists (otherwise everything is built). -#}
    {{ return(var('aggregation_mode', 'refresh') == 'incremental' and is_incremental()) }}
{% endmacro %}


{% macro att_day_watermark_table() %}
    {#- The watermark table, or none before the tool schema has it (a plain dbt run on a
        database that `resync` never migrated). -#}
    {{ return(adapter.get_relation(database=target.database, schema='resync', identifier='aggregation_watermark')) }}
{% endmacro %}


{% macro att_day_read_watermarks() %}
    {#-
        {district code: watermark text} for the districts in scope that have one. Read when the
        model compiles, before the run's lock: a run that commits in between can only have moved
        a watermark forward, so reading an older one only widens the recompute.
    -#}
    {{ return(att_day_read_watermark_column('watermark')) }}
{% endmacro %}


{% macro att_day_read_watermark_column(column) %}
    {#- {district code: the column as text} from the watermark rows of the districts in scope
        (rows whose column is null are left out). -#}
    {%- set values = {} -%}
    {%- if not execute -%}{{ return(values) }}{%- endif -%}
    {%- set table = att_day_watermark_table() -%}
    {%- if table is none -%}
        {{ exceptions.raise_compiler_error(
            "The incremental attendance aggregation needs the resync tool schema: run it with `resync aggregate`.") }}
    {%- endif -%}
    {%- set quoted = resync_quoted_districts() -%}
    {%- if quoted -%}
        {%- set rows = run_query(
            "select district_id, " ~ column ~ "::text from " ~ table
            ~ " where end_year = " ~ resync_school_year() ~ " and " ~ column ~ " is not null"
            ~ " and district_id in (" ~ quoted | join(', ') ~ ")").rows -%}
        {%- for row in rows -%}{%- do values.update({row[0]: row[1]}) -%}{%- endfor -%}
    {%- endif -%}
    {{ return(values) }}
{% endmacro %}


{% macro att_day_newly_counted(alias, through) %}
    {#- `<alias>.date` lies between the date the district's last run counted through (`through`,
        text) and the one this run counts through (either way round: a run may also count through
        an earlier date). No recorded date (none) is -infinity: every counted day is new. -#}
    {%- set now = resync_attendance_through() -%}
    {%- set before = "date " ~ dbt.string_literal(through if through is not none else '-infinity') -%}
    {{ alias }}.date > least({{ now }}, {{ before }}) and {{ alias }}.date <= greatest({{ now }}, {{ before }})
{%- endmacro %}


{% macro att_day_changed_since(alias, column, watermark) %}
    {#-
        `<alias>.<column> >= <watermark>` (text; none is -infinity: everything changed). Each
        district's chain of the model asks with its own watermark, a constant, so PostgreSQL
        reads the changes by the landing's (district_id, <column>) index.
    -#}
    {{ alias }}.{{ column }} >= timestamptz {{ dbt.string_literal(watermark if watermark is not none else '-infinity') }}
{%- endmacro %}


{% macro att_day_capture_watermark() %}
    {#-
        Pre-hook (inside the model's transaction, after the scope's locks, before the model's
        statement takes its snapshot): the watermark this run will leave, into a temporary table.
        The lock is taken here too (it is re-entrant) so that the order of hooks cannot put the
        capture before it. Sessions of other roles hide their xact_start unless the user has
        pg_read_all_stats: then no safe watermark exists, and the run records none.
    -#}
    {%- set table = att_day_watermark_table() -%}
    {%- if table is none -%}{{ return('') }}{%- endif -%}
{{ resync_lock_scope() }}
create temporary table att_day_run_watermark on commit drop as
select case
           when bool_or(activity.query = '<insufficient privilege>') then null
           -- Sessions that may write: clients, and any process holding a transaction id.
           else least(now(), min(activity.xact_start) filter (
               where activity.backend_type = 'client backend' or activity.backend_xid is not null))
       end as watermark,
       {{ resync_attendance_through() }} as through_date
from pg_stat_activity as activity
where activity.datname = current_database();
{{ resync_rows_deleted_table() }}
{%- if att_day_incremental_mode() %}
do $$
begin
    if (select watermark from att_day_run_watermark) is null then
        raise exception 'The incremental attendance aggregation needs to see when every session''s transaction started: grant pg_read_all_stats to the user resync connects as.';
    end if;
end $$;
{%- endif %}
{%- if not is_incremental() %}
-- The state table is being (re)built, with this school year's rows only: no district's rows of
-- any year survive from an earlier run, so neither may a watermark.
delete from {{ table }};
{%- endif %}
{% endmacro %}


{% macro att_day_advance_watermark() %}
    {#- Post-hook, inside the transaction: the districts just aggregated are current as of the
        captured watermark (or, when none could be captured, need a full recompute next time). -#}
    {%- set table = att_day_watermark_table() -%}
    {%- set quoted = resync_quoted_districts() -%}
    {%- if table is none or not quoted -%}{{ return('') }}{%- endif -%}
delete from {{ table }}
where end_year = {{ resync_school_year() }}
  and district_id in ({{ quoted | join(', ') }});
{{ resync_rows_written_table() }}
insert into {{ table }} (district_id, end_year, watermark, through_date, mode, rows_deleted, rows_written)
select district.code, {{ resync_school_year() }}, run.watermark, run.through_date,
       {{ dbt.string_literal('incremental' if att_day_incremental_mode() else 'refresh') }},
       deleted.row_count, coalesce(written.row_count, 0)
from att_day_run_watermark as run
cross join (values ({{ quoted | join('), (') }})) as district (code)
-- No row when the table was (re)built rather than replaced into: nothing known was deleted.
left join resync_rows_deleted as deleted on deleted.district_id = district.code
left join resync_rows_written as written on written.district_id = district.code
where run.watermark is not null;
{% endmacro %}
