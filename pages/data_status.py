"""Data status: what the database holds and what was imported when."""
import streamlit as st

from kpi import ingest, store
from ui.data import db_path, query
from ui.i18n import t

st.title(t("page.data"))
st.caption(t("data.db", path=db_path()))
counts = query(store.row_counts)
cols = st.columns(len(counts))
for col, (name, n) in zip(cols, counts.items()):
    col.metric(name, f"{n:,}")
st.subheader(t("data.history"))
st.dataframe(query(ingest.import_history, 200), hide_index=True)
