"""Entry point: `streamlit run dashboard.py`. The frame shared by every page: language, filters, navigation.

Streamlit runs this file for each page run (as __main__: main()). `streamlit run` first imports it to find the app it
serves (`app`, below): Streamlit's own server with each page's address answered directly (ui.serve)."""
import streamlit as st


def main() -> None:
    """One page run. The imports are here: the server imports this file (for `app`) before any page run, and Streamlit's
    caches (ui.data) log a warning when made outside one."""
    from kpi.metrics import OutOfScope
    from kpi.store import StoreError, keep_files_private
    from ui.access import refused
    from ui.auth import sign_in_gate
    from ui.data import begin_run, end_run, finish_database
    from ui.frame import FIRST_DATA, UNFILTERED, language_switch, navigation, print_style, print_switch, sidebar_filters
    from ui.widgets import database_problem

    st.set_page_config(page_title="客服中心 KPI 儀表板 · Contact-center KPIs", page_icon="📞", layout="wide")

    keep_files_private()  # the database's write-ahead log, uploads and backups: their owner's only
    print_style()
    gate = sign_in_gate()  # closed: the sign-in form (or why nothing can be shown) is drawn instead of any page
    # Listed even before a sign-in (hidden), so a page's URL still names its page: the form first, then that page.
    page, script = navigation(position="sidebar" if gate.open else "hidden")
    # Every widget after st.navigation: one drawn before it has another id on a session's first run than on the next,
    # so the first click on it was lost (the language stayed Chinese). The titles above read the language the last run
    # chose.
    language_switch()
    gate.draw()
    held = None  # this run's database connection, closed at its end whatever ends it (st.stop included)
    try:
        if gate.open:
            # A first start: the page's sample datasets, the rest after.
            held = begin_run(first=FIRST_DATA.get(script))
            st.session_state["_filters"] = sidebar_filters(used=script not in UNFILTERED)
            print_switch()
            page.run()
            finish_database()
    except StoreError as exc:  # a damaged, foreign, read-only, full or busy database file: said, never a traceback
        database_problem(exc)
    except OutOfScope as exc:  # kpi refused what the user's role does not reach: say so, never a traceback
        refused(exc.what)
    finally:
        end_run(held)  # first: after st.stop(), any use of st.session_state raises
        try:
            st.session_state.pop("_filters", None)  # valid for this run only
        except BaseException:  # noqa: BLE001 - st.stop() was called (StopException): the next run sets it again
            pass


if __name__ == "__main__":  # a page run
    main()
else:  # imported by `streamlit run dashboard.py` (or by uvicorn: `uvicorn dashboard:app`) to serve the pages
    from streamlit import config

    from ui.serve import lifespan, page_routes

    # lifespan: the kpi package imported before the first visitor, not in that visitor's first page run; the browser
    # opened, as `streamlit run` did.
    app = st.App(__file__, routes=page_routes(config.get_option("server.baseUrlPath") or ""), lifespan=lifespan)
