"""Entry point: `streamlit run dashboard.py`. Sets up the page frame and navigation."""
import streamlit as st

st.set_page_config(page_title="客服中心 KPI 儀表板 · Contact-center KPIs", page_icon="📞", layout="wide")

pages = {
    "總覽 Overview": [st.Page("pages/overview.py", title="本週總覽 This week", icon="📊", default=True)],
}
st.navigation(pages).run()
