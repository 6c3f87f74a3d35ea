"""Glossary: every KPI's definition, unit, direction, target and the competency indicators it evidences."""
import streamlit as st

from kpi import competency
from ui.access import current_scope
from ui.frame import current_filters
from ui.i18n import lang, t
from ui.widgets import competency_map, page_table, show_table

current_filters(used=False)  # the shared sidebar (no filters: none apply here), also when this page runs alone
st.title(t("page.glossary"))
st.caption(t("glossary.intro"))
# a team's own targets only for the teams the reader's role reaches
glossary = competency.glossary(competency_map(), lang(), teams=current_scope().teams).set_index(t("glossary.col.kpi"))
# static HTML, whole: it wraps and prints; not st.table, which draws each of its 39 x 6 cells as a Markdown element
show_table(page_table(glossary, [t("page.glossary")], None, ""), "glossary", scroll=False)
