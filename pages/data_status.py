"""Data status: what the database holds and what was imported when."""
import streamlit as st

from kpi import imports, store
from ui.data import db_path, query
from ui.frame import current_filters
from ui.i18n import t
from ui.widgets import import_history_table

current_filters()  # the shared sidebar, also when this page runs alone
st.title(t("page.data"))
st.caption(t("data.db", path=db_path()))
counts = query(store.row_counts)
cols = st.columns(len(counts))
for col, (name, n) in zip(cols, counts.items()):
    col.metric(t(f"ds.{name}"), f"{n:,}")
st.subheader(t("data.history"))
import_history_table(query(imports.import_history, 200), key="status_history")
