"""Glossary: every KPI's definition, unit, direction, target and the competency indicators it evidences."""
import streamlit as st

from kpi import competency
from ui.frame import current_filters
from ui.i18n import lang, t
from ui.widgets import competency_map

current_filters()  # the shared sidebar, also when this page runs alone
st.title(t("page.glossary"))
st.caption(t("glossary.intro"))
st.table(competency.glossary(competency_map(), lang()).set_index(t("glossary.col.kpi")))  # static: wraps, prints
