"""Trainer page: weak KPIs -> behaviour indicators, knowledge, skills and coaching actions."""
import streamlit as st

from ui.i18n import t

st.title(t("page.trainer"))
