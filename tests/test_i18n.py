"""The message catalog (kpi/present/messages.yaml) is complete and has nothing unused: every key the code reads
exists in both languages, and every key in the catalog is read somewhere."""
import re
from pathlib import Path

import pytest

from kpi import auth, competency, imports, metrics, present, reports, store
from kpi.auth.access import ROLES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "dashboard.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("kpi/**/*.py")]
LITERAL = re.compile(r"""\bt\(\s*["']([\w.\-]+)["']""")
BUILT = re.compile(r"""\bt\(\s*f["']([^"'{]*)\{""")  # t(f"status.{s}") -> "status."

# Keys read through a built name, t(f"PREFIX{x}"): each prefix with every value x takes, from the constant the code
# iterates over. A new built key fails test_every_built_key_is_declared until it is declared here.
DYNAMIC: dict[str, tuple[str, ...]] = {
    "imp.fatal.": (*imports.FATAL_CODES, "unreadable_csv_row"),  # ui.widgets.import_error
    "status.": ("good", "warning", "bad", "none", "uncertain", "maturing", "no_value"),
    "channel.": ("phone", "chat", "email"),
    "trainer.vs.": ("target", "team"),
    "trainer.vs_team.": ("bad", "warning"),  # pages/trainer.py: an agent's status against the team
    "better.": ("higher", "lower", "near", "none"),
    "source.": ("sample", "page", "cli"),  # value_label("source", ...) in ui/widgets.py
    "run_by.": ("dashboard", "root"),
    "glossary.col.": competency.GLOSSARY_COLUMNS,
    "weekday.": tuple(str(d) for d in range(1, 8)),
    "sidebar.": ("team", "channel", "queue", "week", "month", "quarter"),
    "ds.": tuple(store.DATASETS),
    "trainer.kind.": ("team", "agent"),
    # ui.widgets.database_problem, StoreError.code
    "db.": ("damaged", "foreign", "read_only", "full", "busy", "repeated_keys", "other"),
    "imp.refused.": imports.UNDO_REFUSALS,  # pages/import_data.py: why an undo was refused (UndoRefused.code)
    "period.kind.": metrics.PERIOD_KINDS,
    "tile.vs_prev_": ("week", "month", "quarter"),
    "weekly.change_help.": ("week", "month", "other"),  # pages/weekly.py: how the tiles judge a change, by period
    "weekly.title.": ("month", "quarter", "range"),  # pages/weekly.py: the title under a month, quarter or range
    "mask.": ("email", "card", "national_id", "phone"),  # kpi.metrics.mask_pii: a masked value, in the reader's words
    "meta.scope_": ("channel", "queue"),  # kpi/reports/_service.py: the page's filters in a report's header
    "unit_after.": ("score", "per_1000"),  # kpi/present: a score's or a rate's unit after its number
    "quality.stage.": metrics.FUNNEL_STAGES,
    "scale.": ("csat", "nps", "ces"),
    "line_type.": ("cost", "revenue"),
    "bridge.step.": ("volume", "efficiency", "rate"),  # kpi/reports/_bridge.py: the waterfall's steps
    "waterfall.status.": ("good", "warning", "bad"),  # kpi/present/_charts.py: a budget line's status in the hover
    "bridge.": tuple(f"{part}.{way}" for part in ("volume", "efficiency", "rate") for way in ("up", "down", "unknown")),
    "bridge.effect.": ("cost", "saving"),
    "bridge.head.": ("over", "under"),
    "ir.nature.": competency.NATURES,
    "ir.status.": competency.STATUSES,
    "hist.": ("import_id", "dataset", "file_name", "source", "run_by", "rows_read", "inserted", "updated",
              "unchanged", "rejected", "finished_at", "undone_at"),
    "col.": ("cost_center", "line", "line_type", "budget_month", "actual_month", "variance_month", "budget_ytd",
             "actual_ytd", "variance_ytd", "variance_pct_ytd", "reforecast", "favourable",  # pages/budget.py's table
             "kpi", "unit", "value", "target", "status", "n", "previous", "change", "last_year"),  # the reports' KPI table
    "unit.": (*metrics.UNITS, "minutes"),  # "minutes": a duration axis or report row in minutes (present.unit_name)
    "sec.": tuple(dict.fromkeys((*reports.PERFORMANCE_SECTIONS, *reports.SERVICE_SECTIONS))),
    "sheet.": tuple(dict.fromkeys((*reports.PERFORMANCE_SECTIONS, *reports.SERVICE_SECTIONS))),
    "theme.": (*reports.THEMES, "other"),
    "grain.": ("week", "month"),
    "month.short.": tuple(str(m) for m in range(1, 13)),  # pages/budget.py's month buttons
    "perf.": ("P2.2.1", "P2.2.2", "P2.2.3"),  # f"{prefix}.{code}" over the task's indicators
    "svc.": ("P4.3.1", "P4.3.2", "P4.3.3", "P4.3.4"),
    "plan.col.": tuple(competency.PLAN_COLUMNS),
    # value_label(dimension, value): data values and canonical columns in words
    "queue.": ("billing", "general", "membership", "tech"),  # the sample's queues
    "measure.": ("budget", "actual"),
    "direction.": store.CONTACTS.column("direction").choices,
    "state.": store.AGENT_STATES.column("state").choices,
    "activity.": store.SCHEDULE.column("activity").choices,
    "pay.": store.PAY_TYPES,  # value_label("pay", ...): a drivers row's pay type
    "duration_unit.": tuple(imports.DURATION_UNITS),
    "date_order.": imports.DATE_ORDERS,
    "encoding.": ("auto", "utf-8", "cp950"),  # pages/import_data.py
    "field.": tuple(dict.fromkeys(c.name for ds in store.DATASETS.values() for c in (*ds.columns, *ds.extra_columns))),
    "field_help.": tuple(f"{ds.name}.{c.name}" for ds in store.DATASETS.values() for c in (*ds.columns, *ds.extra_columns)),
    "kind.": tuple(store.SQL_TYPES),
    "reject.": imports.REASON_CODES,
    "imp.step.": imports.STEPS,  # pages/import_data.py: the import's progress steps
    "imp.derive.": tuple(imports.DERIVE_RULES),  # imports.describe_derived
    "imp.derive.when.": imports.CONDITIONS,  # a case rule's conditions
    "preset.": tuple(imports.load_presets()),  # the export each shipped preset reads, in words (detected_line)
    "amount_unit.": ("auto", *imports.AMOUNT_UNITS),  # pages/import_data.py
    "rej.col.": imports.READABLE_COLUMNS,
    "role.": tuple(ROLES),  # ui.access: the role's name in a refusal; ui.auth: the sidebar's signed-in line
    "access.refused.": (*ROLES["admin"], "own"),  # ui.access.require(what), OutOfScope.what: what a user may lack
    "auth.": ("disabled", "throttled"),  # ui/auth.py: a failed sign-in's reason (bad and locked have their own words)
    "auth.method.": auth.METHODS,
    "audit.reason.": auth.FAILURES,
    "audit.action.": auth.ACTIONS,
    "audit.what.": auth.ACTIONS,
    "audit.source.": auth.SOURCES,
    "audit.col.": auth.AUDIT_COLUMNS,
    "erlang.error.": metrics.ERLANG_ERRORS,  # ErlangError.code
    "staffing.measure.": metrics.STAFFING_MEASURES,  # pages/trainer.py, competency_map.yaml measure_links
    "staffing.cost.": ("no_rate", "scope"),  # StaffingWeek.labour_missing
    "gap.": ("target.above", "target.below", "team.above", "team.below"),  # present.format_gap
    "staffing.col.": tuple(c for c in metrics.STAFFING_COLUMNS if c not in ("offered", "aht_seconds", "service_level")),
}
# Keys named as plain strings in one file and handed to t through a variable (e.g. a list of (key, value) pairs).
INDIRECT: dict[str, tuple[str, ...]] = {
    "pages/weekly.py": ("vol.offered", "vol.answered", "vol.abandoned", "vol.surveys", "vol.complaints"),
    "pages/quality.py": ("period.week", "period.4w", "period.13w"),
    "pages/trainer.py": ("period.week", "period.4w", "period.13w"),
    "kpi/reports/_performance.py": ("scope.month", "scope.ytd"),
    "kpi/competency/_improvement.py": tuple(competency.TABLE_HEADINGS.values()),
    "ui/frame.py": ("nav.supervisor", "nav.finance", "nav.trainer", "nav.mine", "nav.data", "page.weekly", "page.quality",
                    "page.budget", "page.trainer", "page.import", "page.data", "page.glossary"),  # PAGES
}
# Keys built with a variable prefix (f"{prefix}.{code}"): the scanner sees no prefix, so say which file does it.
VARIABLE_PREFIX = {"kpi/reports/_common.py": 1, "kpi/auth/_audit.py": 1}


def _scan() -> tuple[set[str], dict[str, set[str]]]:
    literal, built = set(), {}
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        literal |= set(LITERAL.findall(text))
        for prefix in BUILT.findall(text):
            built.setdefault(prefix, set()).add(str(path.relative_to(ROOT)))
    return literal, built


def used_keys() -> set[str]:
    literal, _ = _scan()
    indirect = {k for keys in INDIRECT.values() for k in keys}
    return literal | indirect | {p + x for p, xs in DYNAMIC.items() for x in xs}


def test_indirect_keys_are_where_they_are_declared():
    for path, keys in INDIRECT.items():
        text = (ROOT / path).read_text(encoding="utf-8")
        assert all(f'"{k}"' in text for k in keys), path


def test_every_built_key_is_declared():
    _, built = _scan()
    undeclared = {p: files for p, files in built.items() if p and p not in DYNAMIC}
    assert not undeclared, f"declare these in DYNAMIC: {undeclared}"
    assert set(built.get("", ())) == set(VARIABLE_PREFIX)


def test_every_used_key_exists_in_both_languages():
    catalog = present.messages()
    missing = used_keys() - set(catalog)
    assert not missing, sorted(missing)
    for key, entry in catalog.items():
        assert set(entry) == {"zh-TW", "en"} and all(v.strip() for v in entry.values()), key


def test_no_key_in_the_catalog_is_unused():
    unused = set(present.messages()) - used_keys()
    assert not unused, sorted(unused)


def test_english_texts_have_no_chinese():
    cjk = re.compile(r"[\u4e00-\u9fff]")
    bilingual = {"sidebar.language", "sidebar.all",  # shown the same in both languages on purpose
                 "reject.unreadable_month", "reject.unreadable_bool"}  # quote the Chinese forms a file may hold
    for key, entry in present.messages().items():
        if key in bilingual:
            continue
        assert not cjk.search(entry["en"]), f"{key}: English text has Chinese characters: {entry['en']}"


def test_kpi_names_are_not_retyped_in_the_messages():
    labels = {tuple(k.label.values()) for k in metrics.load_catalog().kpis.values()}
    # col.value heads a KPI's measured value beside its target (實際/Actual): the same words as the budget's
    # "actual" KPI, not its name
    other_meaning = {"col.value"}
    retyped = [key for key, entry in present.messages().items()
               if (entry["zh-TW"], entry["en"]) in labels and key not in other_meaning]
    assert not retyped, retyped


@pytest.mark.parametrize("lang, items, listed, labelled, bracketed", [
    ("zh-TW", ["加班費", "外包費"], "加班費、外包費", "相關 KPI：", "加班費（客服營運部）"),
    ("en", ["Overtime", "Outsourcing"], "Overtime, Outsourcing", "相關 KPI: ", "加班費 (客服營運部)"),
])
def test_punctuation_follows_the_language(lang, items, listed, labelled, bracketed):
    assert present.join_list(items, lang) == listed
    assert "相關 KPI" + present.colon(lang) == labelled
    assert present.paren("加班費", "客服營運部", lang) == bracketed


def test_t_fills_placeholders_and_names_an_unknown_key_or_language():
    assert present.t("tile.target", "en", target="80.0%") == "Target 80.0%"
    assert present.t("tile.target", "zh-TW", target="80.0%") == "目標 80.0%"
    with pytest.raises(present.MessageError, match="no message 'no.such.key'"):
        present.t("no.such.key", "en")
    with pytest.raises(ValueError, match="lang must be one of zh-TW, en, got 'fr'"):
        present.t("tile.target", "fr")


@pytest.mark.parametrize("n, expected", [(1, "x: 1 complaint (g)"), (0, "x: 0 complaints (g)"), (1000, "x: 1,000 complaints (g)")])
def test_an_english_count_of_one_takes_the_singular(n, expected):
    assert present.t("chart.pareto_hover", "en", category="x", n=n, group="g") == expected


def test_the_plural_marker_reads_the_count_in_any_form():
    assert present.t("chart.pareto_hover", "zh-TW", category="x", n=1, group="g") == "x：1 件（g）"
    assert present.t("erlang.out.input", "en", calls=1.0, minutes=30.0, aht="5 min", sl="80%", seconds=20.0) == \
        "1 call in 30 minutes, average handle time 5 min, target 80% answered within 20 s"
    assert present.t("weekly.attention_more", "en", n=1).startswith("And 1 more team or agent (")
    assert present.t("svc.period", "en", start="a", end="a", days="1", ps="b", pe="b").endswith("(1 day), against the previous period b to b.")
    assert present.t("perf.kpis", "en", n=1, good=1, warning=0, bad=0, uncertain=0).startswith("1 KPI has a target:")


def test_english_counts_before_a_plural_noun_say_which_form_one_takes():
    # "1 complaints" and "(1 KPIs)" were on the pages: a count placeholder right before a plural noun must pick the
    # noun's form by the count ({n|complaint|complaints}); the names below hold counts in the catalog.
    # a count, then up to two words, then a plural ("{n} more teams", "{n} survey responses"); not a measure in units
    # or bands ("{gap:.1f} bands", "{traffic} Erlangs", "{hours} of agents": a number with a decimal, never "1 band")
    counts = "n|read|removed|rows|days|agents|required|inserted|total|fields|calls|minutes|left|max"
    bare = re.compile(r"\{(" + counts + r")(:[^}]*)?\}\)?((?: [A-Za-z-]+){0,2}?) [A-Za-z-]+s\b")
    offenders = {k: e["en"] for k, e in present.messages().items() if bare.search(e["en"])}
    assert not offenders, offenders
