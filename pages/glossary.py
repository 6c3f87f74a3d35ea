"""Glossary: every KPI's definition, unit, direction, target and the competency indicators it evidences."""
import streamlit as st

from kpi import competency
from ui.frame import current_filters
from ui.i18n import lang, t
from ui.widgets import competency_map, page_table, show_table

current_filters(used=False)  # the shared sidebar (no filters: none apply here), also when this page runs alone
st.title(t("page.glossary"))
st.caption(t("glossary.intro"))
glossary = competency.glossary(competency_map(), lang()).set_index(t("glossary.col.kpi"))
# static HTML, whole: it wraps and prints; not st.table, which draws each of its 39 x 6 cells as a Markdown element
show_table(page_table(glossary, [t("page.glossary")], None, ""), "glossary", scroll=False)
