"""Data status: what the database holds of each dataset, the dates it covers, and what was imported when."""
import streamlit as st

from kpi import imports, store
from ui.access import require
from ui.data import query
from ui.frame import current_filters
from ui.i18n import t
from ui.widgets import import_history_table

current_filters()  # the shared sidebar, also when this page runs alone
require("imports")
st.title(t("page.data"))
# No server path here: a supervisor has no use for it (`python -m kpi status` prints it for whoever runs the server).
status = query(store.dataset_status)
for col, s in zip(st.columns(len(status)), status):
    day = "%Y-%m" if s.period_kind == "month" else "%Y-%m-%d"  # budget months are stored as their first days
    with col.container(border=True):
        st.metric(t(f"ds.{s.dataset}"), t("data.rows", n=s.rows))
        st.caption(t("data.range", first=f"{s.first:{day}}", last=f"{s.last:{day}}") if s.rows else t("data.empty"))
        st.caption(t("last_import", when=f"{s.last_import_at:%Y-%m-%d %H:%M}", file=s.last_import_file)
                   if s.last_import_at else t("data.never_imported"))
st.subheader(t("data.history"))
import_history_table(query(imports.import_history, 200), key="status_history")
