"""Landing page: the latest complete week's volumes and the last import."""
import streamlit as st

from kpi import overview
from ui.data import query

st.title("客服中心 KPI 儀表板 · Contact-center KPI dashboard")
summary = query(overview.week_summary)
if summary is None:
    st.info("資料庫沒有進線資料 · The database holds no contacts yet. Import some with `python -m kpi ingest contacts FILE`.")
    st.stop()

st.subheader(f"{summary.iso_week} · {summary.week_start:%Y-%m-%d} – {summary.week_end:%Y-%m-%d}")
cols = st.columns(5)
cols[0].metric("進線 Offered", f"{summary.offered:,}")
cols[1].metric("接通 Answered", f"{summary.answered:,}")
cols[2].metric("放棄 Abandoned", f"{summary.abandoned:,}")
cols[3].metric("問卷回覆 Surveys", f"{summary.surveys:,}")
cols[4].metric("客訴 Complaints", f"{summary.complaints:,}")
if summary.last_import_at is not None:
    st.caption(f"最近匯入 Last import: {summary.last_import_at:%Y-%m-%d %H:%M} · {summary.last_import_file}")
