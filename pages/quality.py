"""Service quality (T4.3): satisfaction, complaints and their resolution."""
import streamlit as st

from ui.i18n import t

st.title(t("page.quality"))
