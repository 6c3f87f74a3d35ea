"""The frame around every page: language, the shared sidebar filters, and navigation grouped by who uses it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import streamlit as st

from kpi import metrics
from kpi.present import value_label

from .data import query
from .i18n import LANGS, lang, t

ALL = "__all__"
DEFAULT_CHANNEL = "phone"


@dataclass(frozen=True)
class Filters:
    week_start: date  # Monday
    week_end: date  # Sunday
    week: str  # 2026-W47
    team: str | None
    channel: str | None
    queue: str | None

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


def sidebar_filters() -> Filters | None:
    """The ISO-week picker and team/channel/queue filters; their values are kept across pages."""
    weeks = query(metrics.available_weeks)
    if not weeks:
        return None
    latest = query(metrics.latest_complete_week) or weeks[0]
    options = [w.isoformat() for w in weeks]
    week = st.sidebar.selectbox(t("sidebar.week"), options, index=options.index(latest.isoformat()),
                                placeholder=t("select.placeholder"),
                                format_func=lambda s: metrics.iso_week_label(date.fromisoformat(s)),
                                key="week", help=t("sidebar.week_help"))
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
    start = date.fromisoformat(week)
    return Filters(start, start + timedelta(days=6), metrics.iso_week_label(start), **chosen)


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
