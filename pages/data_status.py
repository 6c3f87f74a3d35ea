"""Data status: what the database holds of each dataset, the dates it covers, and what was imported when."""
import html
from datetime import datetime

import streamlit as st

from kpi import auth, imports, present, store
from ui.access import current_scope, require
from ui.data import query, recent
from ui.frame import current_filters
from ui.i18n import lang, t
from ui.widgets import import_history_table, page_table, show_table, show_tiles

current_filters(used=False)  # the shared sidebar (no filters: none apply here), also when this page runs alone
require("imports")
st.title(t("page.data"))
# No server path here: a supervisor has no use for it (`python -m kpi status` prints it for whoever runs the server).
status = query(store.dataset_status)
tiles = []
for s in status:
    day = "%Y-%m" if s.period_kind == "month" else "%Y-%m-%d"  # budget months are stored as their first days
    tiles.append(present.Tile(t(f"ds.{s.dataset}"), t("data.rows", n=s.rows), small=tuple(html.escape(x) for x in (
        t("data.range", first=f"{s.first:{day}}", last=f"{s.last:{day}}") if s.rows else t("data.empty"),
        t("last_import", when=f"{s.last_import_at:%Y-%m-%d %H:%M}", file=s.last_import_file)
        if s.last_import_at else t("data.never_imported")))))
show_tiles(tiles)
st.subheader(t("data.history"))
import_history_table(query(imports.import_history, 200), key="status_history")

if current_scope().can("users"):  # who signed in and did what: for administrators
    st.subheader(t("audit.title"))
    log = recent(auth.audit_log, 500)  # a sign-in changes it without moving the data version
    st.caption(t("audit.caption", n=len(log)))
    shown = auth.readable_audit(log, lang())
    show_table(page_table(shown, [t("page.data"), t("audit.title")], None, f"{datetime.now():%Y-%m-%d}",
                          labels={c: t(f"audit.col.{c}") for c in auth.AUDIT_COLUMNS}), key="audit_log")
