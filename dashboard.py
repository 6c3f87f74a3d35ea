"""Entry point: `streamlit run dashboard.py`. The frame shared by every page: language, filters, navigation."""
import streamlit as st

from ui.data import begin_run, end_run
from ui.frame import language_switch, navigation, print_style, print_switch, sidebar_filters

st.set_page_config(page_title="客服中心 KPI 儀表板 · Contact-center KPIs", page_icon="📞", layout="wide")

language_switch()
print_style()
page = navigation()
begin_run()
st.session_state["_filters"] = sidebar_filters()
print_switch()
try:
    page.run()
finally:
    del st.session_state["_filters"]  # valid for this run only
    end_run()
