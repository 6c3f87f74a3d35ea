"""The frame around every page: language, the shared sidebar filters, and navigation grouped by who uses it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from kpi import metrics, present
from kpi.auth.access import Scope
from kpi.present import colon, join_list, value_label

from .access import OWN, SIGNED_OUT, allows, current_scope
from .data import query
from .i18n import DEFAULT_LANG, LANGS, address_lang, lang, t

ALL = "__all__"
DEFAULT_CHANNEL = "phone"


@dataclass(frozen=True)
class Filters:
    period: metrics.Period  # the ISO week, month, quarter or range chosen
    team: str | None
    channel: str | None
    queue: str | None
    team_offered: bool = True  # False for an agent: their page is their own team's and the centre's, no team filter

    @property
    def start(self) -> date:
        return self.period.start

    @property
    def end(self) -> date:
        return self.period.end

    @property
    def label(self) -> str:
        """The period as the reader names it: 2026-W47, 2026 年 11 月, ... with （未完整） while not over."""
        return self.period.label(lang())

    @property
    def kw(self) -> dict[str, str | None]:
        """The filters as keyword arguments of the kpi functions."""
        return {"team": self.team, "channel": self.channel, "queue": self.queue}

    def labels(self) -> list[str]:
        """The filters that are set, as a reader reads them (for a download's file name): 技術支援組, 電話."""
        return [value_label(d, v, lang()) for d, v in self.kw.items() if v is not None]

    def parts(self, written=str) -> list[str]:
        """Every filter with its value, in words: 組別：全部, 管道：電話. written: how a data value is put (the sidebar's
        Markdown escapes it)."""
        return [f"{t(f'sidebar.{d}')}{colon(lang())}{t('sidebar.all') if v is None else written(value_label(d, v, lang()))}"
                for d, v in self.kw.items() if d != "team" or self.team_offered]

    def span(self) -> str:
        """The period with its dates: 2026-W47：2026-11-16 至 2026-11-22; a range of days is its dates alone (they were
        written twice)."""
        if self.period.kind == "range":
            return self.label
        return t("week.range", week=self.label, start=self.start, end=self.end)

    def line(self) -> str:
        """Every filter with its value, in words (for a download's title row)."""
        return t("export.filters", filters=join_list(self.parts(), lang()))


# Select boxes (and the budget's month buttons) whose options are worded in the reader's language. The browser keeps
# showing a keyed select box's choice in the words it was first sent in (Streamlit sends the option again only when its
# value is set), so a language switch sets each one's value to itself: "全部" becomes "All" at once.
RELABELED = ("week", "month", "quarter", "team", "channel", "queue", "agent_sort", "trainer_agent", "budget_month",
             "ir_line", "imp_pick")
RELABELED_PREFIXES = ("irdraft_", "imp_enc_", "imp_ds_", "imp_saved_", "imp_do_", "imp_du_", "imp_dec_", "imp_sheet_",
                      "imp_unit_", "imp_drivers_")


def _relabel() -> None:
    for key in list(st.session_state):
        if isinstance(key, str) and (key in RELABELED or key.startswith(RELABELED_PREFIXES)):
            st.session_state[key] = st.session_state[key]


def language_switch() -> None:
    """繁體中文 / English, default Traditional Chinese (or the address's ?lang=). English is kept in the address so a
    reload, a bookmark or a new tab opens in it; Chinese, the default, leaves the address clean."""
    st.sidebar.segmented_control(t("sidebar.language"), options=list(LANGS), format_func=LANGS.get,
                                 key="lang", default=address_lang() or DEFAULT_LANG, on_change=_relabel)
    if st.session_state.get("lang") is None:  # a click on the selected option unselects it
        st.session_state["lang"] = DEFAULT_LANG
    chosen = st.session_state["lang"]
    if chosen != DEFAULT_LANG and st.query_params.get("lang") != chosen:
        st.query_params["lang"] = chosen
    elif chosen == DEFAULT_LANG and "lang" in st.query_params:
        del st.query_params["lang"]


def _period_picker(box) -> metrics.Period | None:
    """Week (default), month, quarter or any range; a week, month or quarter is chosen from those the data touches."""
    kind = box.segmented_control(t("sidebar.period_kind"), list(metrics.PERIOD_KINDS), default="week",
                                 format_func=lambda k: t(f"period.kind.{k}"), key="period_kind",
                                 persist_state="session") or "week"
    if kind == "range":
        weeks = query(metrics.periods, "week")
        if not weeks:
            return None
        default = metrics.default_period(weeks)
        # In the sidebar itself, not in the filter panel: Streamlit's range box takes typed dates when its calendar
        # closes or it loses the focus, and a click outside the panel closed the panel first, dropping them.
        picked = st.sidebar.date_input(t("sidebar.range"), (default.start, default.end), min_value=weeks[-1].start,
                                       max_value=weeks[0].end, key="range", help=t("sidebar.range_help"),
                                       persist_state="session")
        start, end = (tuple(picked) + (None, None))[:2] if isinstance(picked, (tuple, list)) else (picked, None)
        if start is None:
            return None
        return query(metrics.custom_period, start, end or start)  # one day picked so far: that day
    choices = query(metrics.periods, kind)
    if not choices:
        return None
    by_start = {p.start.isoformat(): p for p in choices}
    default = metrics.default_period(choices).start.isoformat()
    options = list(by_start)
    if st.session_state.get(kind) not in by_start:  # a value from other data (an undone import): the default
        st.session_state.pop(kind, None)
    picked = box.selectbox(t(f"sidebar.{kind}"), options, index=options.index(default),
                           placeholder=t("select.placeholder"), format_func=lambda s: by_start[s].label(lang()), key=kind,
                           help=t("sidebar.week_help") if kind == "week" else None, persist_state="session")
    return by_start[picked]


def _options(dim: str, values: list[str]) -> list[str]:
    """A filter's choices: "all" and the values within the user's scope. A supervisor of one team has that team only
    ("all" would mean the same rows under a wider name)."""
    scope = current_scope()
    if dim == "team" and scope.teams is not None and len(values) == 1:
        return values
    return [ALL, *values]


def sidebar_filters(used: bool = True) -> Filters | None:
    """The period picker and team/channel/queue filters, offering only what the user's scope reaches; their values are
    kept across pages. They sit in one panel behind the sidebar's 篩選條件 button (a popover: the script still runs them
    and sends them every time, so their values stay, but the browser draws them only when the panel opens: four select
    boxes drawn cost a new visit about 0.3 to 0.4x the one-tile floor, docs/benchmarks.md), and the filters chosen are
    written out below it. A custom range's date box is in the sidebar itself (_period_picker).

    used=False (a page that reads none of them, UNFILTERED): neither the panel nor the filters written out, so a budget
    read beside "2026-W47, phone" is not taken for that week's or channel's; the values wait for the next page that
    uses them (persist_state), and the data's cut-off is still shown."""
    if not used:
        current_scope()  # as a page run alone needs (nothing shown without a sign-in once accounts exist)
        _cutoff()
        return None
    box = st.sidebar.popover(t("sidebar.filters"), icon=":material/filter_list:", width="stretch")
    period = _period_picker(box)
    if period is None:
        return None
    dims = query(metrics.dimension_values)
    chosen = {}
    # An agent's page sets their own team and the centre beside them whatever the team filter says: none is offered.
    for dim in ("channel", "queue") if current_scope().role == "agent" else ("team", "channel", "queue"):
        options = _options(dim, dims[dim])
        if st.session_state.get(dim) not in options:  # a value from other data or another user's reach: the default
            st.session_state.pop(dim, None)
        # Speed-of-answer KPIs mix badly across channels (an e-mail "waits" hours), so supervisors start on phone.
        default = options.index(DEFAULT_CHANNEL) if dim == "channel" and DEFAULT_CHANNEL in options else 0
        value = box.selectbox(t(f"sidebar.{dim}"), options, key=dim, persist_state="session",
                              index=0 if dim in st.session_state else default,  # (no warning: the kept value wins)
                              placeholder=t("select.placeholder"),
                              format_func=lambda v, d=dim: t("sidebar.all") if v == ALL else value_label(d, v, lang()))
        chosen[dim] = None if value == ALL else value
    found = Filters(period, chosen.get("team"), chosen["channel"], chosen["queue"], team_offered="team" in chosen)
    chosen_line = f"**{found.label}**" if period.kind == "range" else t("sidebar.chosen", period=found.label,
                                                                           start=found.start, end=found.end)
    st.sidebar.markdown("  \n".join([chosen_line, *found.parts(_plain)]))
    _cutoff()
    return found


def _cutoff() -> None:
    cut = query(metrics.data_cutoffs)
    stamp = {k: "—" if v is None else f"{v:%Y-%m-%d %H:%M}" for k, v in cut.items()}
    st.sidebar.caption(t("sidebar.cutoff", **stamp))


def _plain(text: str) -> str:
    """A data value (a team's or queue's name) shown as written in Markdown: its * _ [ ] $ ` # < > not read as markup."""
    return "".join("\\" + ch if ch in "\\*_[]$`#<>~|" else ch for ch in text)


def current_filters(used: bool = True) -> Filters | None:
    """The filters the entry script put in place for this run (None on a page that uses none, UNFILTERED).

    A page run on its own (AppTest re-runs and switch_page run only the page script) draws the sidebar itself. A new
    server's first run, when its URL names a page (a bookmark of /budget), is run by Streamlit's pages/-folder mode
    until the entry script has called st.navigation once in the process: the page's file names in the sidebar, no
    sign-in. Then the run starts again as the dashboard, which opens the same page (the same URL path). Not under
    AppTest, whose page tests run a page alone on purpose.
    """
    if "_filters" not in st.session_state:
        from streamlit import config
        from streamlit.runtime.pages_manager import PagesManager
        if PagesManager.uses_pages_directory and not config.get_option("global.appTest"):
            PagesManager.uses_pages_directory = False  # what the entry script's st.navigation sets
            st.rerun()
        language_switch()
        found = sidebar_filters(used)
        print_switch()
        return found
    return st.session_state["_filters"]


# A browser's print of any page: no sidebar or app chrome, no buttons or upload box, the page as wide as the paper,
# no break inside a tile or chart. A long table scrolls inside its box on screen and would print only what is in view, so
# the print view (below) draws every table whole (kpi.present.table_to_html) and lays the page out as wide as the
# paper less its margins (A4 landscape: 277 mm, room for the budget's money columns): charts are drawn at that width.
_TABLE_CSS = """
table.kpi-table {border-collapse: collapse; width: 100%; font-size: 0.75rem; line-height: 1.3; margin-bottom: 0.5rem}
table.kpi-table th, table.kpi-table td {border: 1px solid #d5d8dc; padding: 2px 5px; vertical-align: top}
table.kpi-table th {background: #f0f2f6; font-weight: 600; text-align: left}
table.kpi-table td.num, table.kpi-table td.nw {white-space: nowrap}
table.kpi-table .num {text-align: right}
div.kpi-scroll {overflow: auto; margin-bottom: 0.5rem}
div.kpi-scroll table.kpi-table {margin-bottom: 0}
div.kpi-scroll table.kpi-table th {position: sticky; top: 0; z-index: 1}
div.kpi-hits i {position: absolute; display: block}
"""
_PRINT_CSS = """
@page {size: A4 landscape; margin: 10mm}
[data-testid="stSidebar"], [data-testid="stSidebarCollapsed"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stStatusWidget"], [data-testid="stBottom"],
[data-testid="stDownloadButton"], [data-testid="stButton"], [data-testid="stFormSubmitButton"],
[data-testid="stFileUploader"], [data-testid="stElementToolbar"], [data-testid="stTooltipIcon"],
[data-testid="stExpander"] summary [data-testid="stIconMaterial"], span.kpi-help {display: none !important}
html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {
  height: auto !important; overflow: visible !important; position: static !important}
[data-testid="stMainBlockContainer"] {max-width: none !important; width: 100% !important; padding: 0 !important}
[data-testid="stHorizontalBlock"], div.kpi-tile, div.kpi-chart, [data-testid="stExpander"],
table.kpi-table tr {break-inside: avoid}
h1, h2, h3 {break-after: avoid}
table.kpi-table thead {display: table-header-group}
div.kpi-scroll {max-height: none !important; overflow: visible !important}
* {-webkit-print-color-adjust: exact; print-color-adjust: exact}
"""
PRINT_CSS = f"<style>{_TABLE_CSS}@media print {{{_PRINT_CSS}}}</style>"
PRINT_VIEW_CSS = ("<style>[data-testid=\"stMainBlockContainer\"] {max-width: calc(277mm + 2rem) !important; "
                  "padding-left: 1rem !important; padding-right: 1rem !important}</style>")


def input_hints_css(lang: str) -> str:
    """Streamlit writes "Press Enter to apply" under a text or number box being edited, in English whatever the page's
    language: on a zh-TW page its words are replaced (the first span of InputInstructions; a length count follows it)."""
    if lang == "en":
        return ""
    apply, submit = present.t("input.enter_apply", lang), present.t("input.enter_submit", lang)
    area, area_submit = present.t("input.ctrl_enter_apply", lang), present.t("input.ctrl_enter_submit", lang)
    # the first span is the hint only when there is one; a length count alone ("3/64") is a span with a "/" and no
    # hint: every box that has max_chars here is in a form, which always shows its hint first
    hint = '[data-testid="InputInstructions"] > span:first-child'
    return (f'{hint} {{font-size: 0}} {hint}::after {{font-size: 0.75rem; content: "{apply}"}} '
            f'[data-testid="stTextArea"] {hint}::after {{content: "{area}"}} '
            f'[data-testid="stForm"] {hint}::after {{content: "{submit}"}} '
            f'[data-testid="stForm"] [data-testid="stTextArea"] {hint}::after {{content: "{area_submit}"}}')


def print_style() -> None:
    """The print stylesheet and the language's input hints, once per run of the entry script."""
    st.html(PRINT_CSS.replace("</style>", input_hints_css(lang()) + "</style>"))


def print_switch() -> bool:
    """The sidebar's print view switch: static tables and a page as wide as A4 landscape, for the browser's print."""
    on = st.sidebar.toggle(t("sidebar.print_view"), key="print_view", help=t("sidebar.print_help"))
    if on:
        st.html(PRINT_VIEW_CSS)
    return on


# Each page, the group it is listed under and what a user needs to open it (a key of kpi.auth.access.ROLES, OWN: linked to
# an agent id; None: anyone).
PAGES = (
    ("nav.supervisor", "pages/weekly.py", "page.weekly", ":material/dashboard:", "supervise"),
    ("nav.supervisor", "pages/quality.py", "page.quality", ":material/sentiment_satisfied:", "supervise"),
    ("nav.supervisor", "pages/staffing.py", "page.staffing", ":material/groups:", "supervise"),
    ("nav.finance", "pages/budget.py", "page.budget", ":material/payments:", "budget"),
    ("nav.trainer", "pages/trainer.py", "page.trainer", ":material/school:", "coach"),
    ("nav.mine", "pages/mine.py", "page.mine", ":material/person:", OWN),
    ("nav.data", "pages/import_data.py", "page.import", ":material/upload_file:", "imports"),
    ("nav.data", "pages/data_status.py", "page.data", ":material/database:", "imports"),
    ("nav.data", "pages/glossary.py", "page.glossary", ":material/menu_book:", None),
)


def pages_for(scope: Scope) -> list[tuple[str, str, str, str, str | None]]:
    """The PAGES entries a scope's role may open, in order."""
    return [p for p in PAGES if allows(scope, p[4])]


def navigation(position: str = "sidebar") -> tuple[Any, str]:
    """The pages the user's role may open, grouped by who uses them, titled in the chosen language; the first is the
    default. A page left out is not reachable by its URL either (Streamlit serves only the pages listed here).
    Position "hidden" (before a sign-in, when no page runs) lists every page unseen, so that a page's URL still names
    its page: the sign-in form first, then that page if the user's role may open it. Returns the page to run and its
    script's path (pages/weekly.py)."""
    typed = "_navigated" not in st.session_state  # the session's first page: its address is the one typed or bookmarked
    st.session_state["_navigated"] = True  # (a sign-out clears it: the sign-in form then runs first, hidden)
    if position == "hidden":  # before a sign-in: a bookmark's page (/budget) waits under the form, to be said after it
        if typed and not st.session_state.get(SIGNED_OUT):  # not the page the previous user of the tab left open
            st.session_state["_asked_address"] = _intended_path()
        refused = None
    else:  # the address typed, or the one asked for before the sign-in ("/" asks for no page: nothing to say)
        refused = _refused_address(current_scope(), say=typed or bool(st.session_state.pop("_asked_address", None)))
    groups: dict[str, list] = {}
    paths: dict[int, str] = {}
    for group, path, title, icon, _ in PAGES if position == "hidden" else pages_for(current_scope()):
        page = st.Page(path, title=t(title), icon=icon, default=not groups)
        paths[id(page)] = path
        groups.setdefault(t(group), []).append(page)
    chosen = st.navigation(groups, position=position)
    if refused is not None:  # on top of the role's first page, which runs instead
        st.info(t("access.refused_page", page=t(refused), role=t(f"role.{current_scope().role}"), instead=chosen.title))
    return chosen, paths.get(id(chosen), "")


def _refused_address(scope: Scope, say: bool) -> str | None:
    """When the browser asks for a page the role may not open, the navigation does not list it, so Streamlit would run
    the role's first page under an English "Page not found" dialog: the intent is cleared instead (that page runs,
    with no dialog). Returns, when say, the title key of the page asked for, for the page to say why (a new visit's
    address, or a bookmark of /budget opened before the sign-in); else None (after a sign-out the page asked for is
    the previous user's, which is not this user's business)."""
    path = _intended_path()
    for _, page, title, _, what in PAGES:
        if page == path and not allows(scope, what):
            try:
                get_script_run_ctx().pages_manager.set_script_intent("", "")
            except AttributeError:  # (see _intended_path)
                return None
            return title if say else None
    return None


def _intended_path() -> str | None:
    """The script of the page the browser asked for (pages/budget.py for /budget), None for none ("/")."""
    try:  # Streamlit's own page intent (1.67): were it renamed, the English dialog comes back, the pages still run
        manager = get_script_run_ctx().pages_manager
        by_hash, by_name = manager.intended_page_script_hash, manager.intended_page_name
        if not by_hash and not by_name:
            return None
        for _, path, _, _, _ in PAGES:
            page = st.Page(path)
            if (by_hash == page._script_hash) if by_hash else (by_name == page.url_path):
                return path
    except AttributeError:
        return None
    return None


# What a page reads of a first start's sample load: the sample's other files load after that page is drawn (the
# weekly page, the default, shows in 5 s instead of 8). A page not named here waits for the whole sample.
FIRST_DATA: dict[str, tuple[str, ...]] = {"pages/weekly.py": ("contacts", "surveys", "complaints")}
# Pages that read none of the sidebar's filters (the budget by year and month; the data's files; the definitions):
# their sidebar shows no period, team or channel that their numbers would seem to be for.
UNFILTERED = frozenset({"pages/budget.py", "pages/data_status.py", "pages/glossary.py", "pages/import_data.py"})
