"""The KPI catalog (catalog.yaml + targets.yaml) and everything computed from it: the engine at any grain, status
against target, the weekly views, service quality (surveys, complaints), and the budget report. Every query takes the
user's scope (kpi.auth.access.Scope; `_scope.py` narrows rows in SQL)."""
from . import _schema as schema  # the one YAML validator, shared with the competency map
from ._budget import (LINE_COLUMNS, BudgetReport, VarianceSplit, answered_by_month, budget_coverage, budget_report, budgeted_hourly_rate, cost_variance_status,
                      last_actual_month, monthly, monthly_splits, months_with_actuals, split_variance, sum_splits, unit_cost_status,
                      variance_status, years)
from ._calendar import (DEADLINE_SQL, BusinessCalendar, business_deadline, business_seconds, calendar_table, parse_opening,
                        taiwan_calendar)
from ._catalog import (CATALOG_PATH, LANGS, TARGETS_PATH, UNITS, Catalog, CatalogError, Dataset, Kpi, centre_zone,
                       format_band, format_value, load_catalog, status)
from ._engine import (CYCLES, DIMENSIONS, FILTERS, GROUPINGS, SOURCES, TIME_GRAINS, agent_names, agent_teams, agent_teams_and_names, backlog_as_of, backlog_cut_off,
                      bucket_keys, compute_kpis, data_cutoffs, kpi_records, kpi_records_of_ranges, kpis_jsonable, matures_on, to_jsonable)
from ._erlang import (ERROR_CODES as ERLANG_ERRORS, ErlangError, Staffing, asa_seconds, erlang_b, erlang_staffing, fte,
                      occupancy, required_agents, service_level, traffic, wait_probability)
from ._workforce import (STAFFING_MEASURES, GRID_COLUMNS as STAFFING_COLUMNS, staffing_jsonable, staffing_lines, staffing_measures,
                         staffing_plan_text, interval_label, gap_status, intervals_to_review, sl_statuses, staffing_monday, staffing_series, staffing_table, HANDLING_STATES, INTERVAL_MINUTES, PRODUCTIVE_STATES, StaffingWeek, WhatIf, WorkforceSummary,
                         has_workforce_data, staffed_agents, staffing_week, with_what_if, workforce_summary,
                         WHAT_IF_RANGES, what_if_outside)
from ._judge import (KpiValue, SettledStatus, cell_status, group_status, judge, kpi_status, previous_range,
                     settled_status, stats_jsonable)
from ._periods import KINDS as PERIOD_KINDS, Period, custom_period, default_period, periods, previous_label, span, trend_window
from ._overview import (WeekSummary, available_weeks, dimension_values, iso_week_label, latest_complete_week,
                        week_summary)
from ._privacy import mask_pii
from ._scope import OutOfScope, may_see_comments, require
from ._quality import (AGE_BANDS, COMPLAINT_KPIS, FUNNEL_STAGES, PARETO_LINE, RESOLUTION_BANDS, SCORES, SURVEY_KPIS, category_pareto,
                       complaint_funnel, low_score_comment_count, low_score_comments, open_backlog_by_age, resolution_time_distribution,
                       score_distribution, survey_trend)
from ._stats import XmrLimits, nps_interval, two_proportion_z, wilson_interval, xmr_limits
from ._weekly import (AGENT_TABLE_KPIS, DEFERRED_TABLE_KPIS, DEFERRED_TILE_KPIS, TABLE_KPIS, TILE_KPIS, TREND_KPIS, WEEKLY_KPIS, WeeklyAgents, WeeklyView, attention,
                      channels_in, sort_rows, status_table, unjudged_blend, weekday_hour_grid, weekday_hour_statuses,
                      weekly_agents, weekly_view)

__all__ = ["LINE_COLUMNS", "BudgetReport", "VarianceSplit", "answered_by_month", "budget_coverage", "budgeted_hourly_rate", "monthly_splits", "split_variance",
           "sum_splits", "budget_report", "last_actual_month", "monthly", "months_with_actuals", "variance_status", "cost_variance_status", "unit_cost_status",
           "years", "CATALOG_PATH", "LANGS", "TARGETS_PATH", "UNITS", "Catalog", "CatalogError", "Dataset", "Kpi",
           "centre_zone", "format_band", "format_value", "load_catalog", "status", "CYCLES", "DIMENSIONS", "FILTERS", "GROUPINGS", "SOURCES",
           "TIME_GRAINS", "KpiValue", "agent_names", "agent_teams", "backlog_as_of", "backlog_cut_off", "bucket_keys", "compute_kpis", "group_status", "kpi_status",
           "SettledStatus", "settled_status",
           "cell_status", "kpi_records", "kpi_records_of_ranges", "kpis_jsonable", "previous_range", "to_jsonable", "WeekSummary", "PERIOD_KINDS", "Period", "custom_period", "default_period", "periods", "previous_label", "span", "trend_window", "available_weeks", "dimension_values",
           "iso_week_label", "latest_complete_week", "week_summary", "mask_pii", "schema", "AGE_BANDS", "FUNNEL_STAGES",
           "PARETO_LINE", "RESOLUTION_BANDS", "COMPLAINT_KPIS", "SCORES", "SURVEY_KPIS", "category_pareto", "complaint_funnel",
           "low_score_comment_count", "low_score_comments", "open_backlog_by_age", "resolution_time_distribution", "score_distribution",
           "survey_trend", "AGENT_TABLE_KPIS", "DEFERRED_TABLE_KPIS", "DEFERRED_TILE_KPIS", "TABLE_KPIS", "TILE_KPIS", "TREND_KPIS", "WEEKLY_KPIS", "attention", "channels_in", "unjudged_blend", "sort_rows", "status_table", "weekday_hour_grid", "weekday_hour_statuses", "WeeklyAgents", "WeeklyView", "weekly_agents", "weekly_view", "agent_teams_and_names", "XmrLimits", "nps_interval", 
           "two_proportion_z", "wilson_interval", "xmr_limits", "BusinessCalendar", "business_deadline", "business_seconds",
           "parse_opening", "taiwan_calendar", "DEADLINE_SQL", "calendar_table", "data_cutoffs", "judge",
           "matures_on", "stats_jsonable", "OutOfScope", "may_see_comments", "require",
           "ERLANG_ERRORS", "ErlangError", "Staffing", "asa_seconds", "erlang_b", "erlang_staffing", "fte", "occupancy",
           "required_agents", "service_level", "traffic", "wait_probability", "HANDLING_STATES", "INTERVAL_MINUTES",
           "PRODUCTIVE_STATES", "StaffingWeek", "WhatIf", "WorkforceSummary", "has_workforce_data", "staffed_agents",
           "staffing_week", "with_what_if", "workforce_summary", "STAFFING_MEASURES", "STAFFING_COLUMNS", "staffing_jsonable", "staffing_lines",
           "staffing_measures", "WHAT_IF_RANGES", "what_if_outside", "staffing_plan_text", "interval_label", "gap_status", "intervals_to_review", "sl_statuses", "staffing_monday", "staffing_series", "staffing_table"]

# Rollups are kept at import by kpi.store with the SQL kpi.metrics._rollup builds; a writable open builds a missing one.
from ..store import set_rollup_builder as _set_rollup_builder
from ._rollup import ensure as _ensure_rollups

_set_rollup_builder(_ensure_rollups)
