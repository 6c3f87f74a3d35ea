"""The frame around every page: language, the shared sidebar filters, and navigation grouped by who uses it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from kpi import metrics
from kpi.present import value_label

from .data import query
from .i18n import LANGS, lang, t

ALL = "__all__"
DEFAULT_CHANNEL = "phone"


@dataclass(frozen=True)
class Filters:
    period: metrics.Period  # the ISO week, month, quarter or range chosen
    team: str | None
    channel: str | None
    queue: str | None

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


def language_switch() -> None:
    """繁體中文 / English, default Traditional Chinese."""
    st.sidebar.segmented_control(t("sidebar.language"), options=list(LANGS), format_func=LANGS.get,
                                 key="lang", default="zh-TW")
    if st.session_state.get("lang") is None:  # a click on the selected option unselects it
        st.session_state["lang"] = "zh-TW"


def _period_picker() -> metrics.Period | None:
    """Week (default), month, quarter or any range; a week, month or quarter is chosen from those the data touches."""
    kind = st.sidebar.segmented_control(t("sidebar.period_kind"), list(metrics.PERIOD_KINDS), default="week",
                                        format_func=lambda k: t(f"period.kind.{k}"), key="period_kind") or "week"
    if kind == "range":
        weeks = query(metrics.periods, "week")
        if not weeks:
            return None
        default = metrics.default_period(weeks)
        picked = st.sidebar.date_input(t("sidebar.range"), (default.start, default.end), min_value=weeks[-1].start,
                                       max_value=weeks[0].end, key="range", help=t("sidebar.range_help"))
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
    picked = st.sidebar.selectbox(t(f"sidebar.{kind}"), options, index=options.index(default),
                                  placeholder=t("select.placeholder"), format_func=lambda s: by_start[s].label(lang()), key=kind,
                                  help=t("sidebar.week_help") if kind == "week" else None)
    return by_start[picked]


def sidebar_filters() -> Filters | None:
    """The period picker and team/channel/queue filters; their values are kept across pages."""
    period = _period_picker()
    if period is None:
        return None
    dims = query(metrics.dimension_values)
    chosen = {}
    for dim in ("team", "channel", "queue"):
        options = [ALL, *dims[dim]]
        # Speed-of-answer KPIs mix badly across channels (an e-mail "waits" hours), so supervisors start on phone.
        default = options.index(DEFAULT_CHANNEL) if dim == "channel" and DEFAULT_CHANNEL in options else 0
        value = st.sidebar.selectbox(t(f"sidebar.{dim}"), options, index=default, key=dim,
                                     placeholder=t("select.placeholder"),
                                     format_func=lambda v, d=dim: t("sidebar.all") if v == ALL else value_label(d, v, lang()))
        chosen[dim] = None if value == ALL else value
    cut = query(metrics.data_cutoffs)
    stamp = {k: "—" if v is None else f"{v:%Y-%m-%d %H:%M}" for k, v in cut.items()}
    st.sidebar.caption(t("sidebar.cutoff", **stamp))
    return Filters(period, **chosen)


def current_filters() -> Filters | None:
    """The filters the entry script put in place for this run.

    A page run on its own (AppTest re-runs and switch_page run only the page script) draws the sidebar itself.
    """
    if "_filters" not in st.session_state:
        language_switch()
        return sidebar_filters()
    return st.session_state["_filters"]


def navigation() -> st.navigation:
    """Pages grouped by who uses them, titled in the chosen language."""
    return st.navigation({
        t("nav.supervisor"): [
            st.Page("pages/weekly.py", title=t("page.weekly"), icon=":material/dashboard:", default=True),
            st.Page("pages/quality.py", title=t("page.quality"), icon=":material/sentiment_satisfied:"),
        ],
        t("nav.finance"): [st.Page("pages/budget.py", title=t("page.budget"), icon=":material/payments:")],
        t("nav.trainer"): [st.Page("pages/trainer.py", title=t("page.trainer"), icon=":material/school:")],
        t("nav.data"): [st.Page("pages/import_data.py", title=t("page.import"), icon=":material/upload_file:"),
                        st.Page("pages/data_status.py", title=t("page.data"), icon=":material/database:"),
                        st.Page("pages/glossary.py", title=t("page.glossary"), icon=":material/menu_book:")],
    })
