"""Streamlit glue shared by the pages: the database, cached kpi calls. Pages lay out; kpi computes."""
