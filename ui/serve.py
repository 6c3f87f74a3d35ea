"""How `streamlit run dashboard.py` serves the dashboard: Streamlit's own server (st.App), with two things added. A page
opened at its own address (/budget, a bookmark) gets Streamlit's page with the server's address written in.

Without it, Streamlit's frontend first looks for the server under the page's address (GET /budget/_stcore/health,
which fails), waits and then tries the parent. That cost every page but the weekly one (at "/") 0.1 to 0.3 s of a new
visit (docs/benchmarks.md, browser). The address is the page's own minus its last segment, worked out in the browser.
So it holds behind a reverse proxy that serves the dashboard under a path of its own (/kpi/budget: /kpi/), and under
`server.baseUrlPath`. The server's root gets the same page without that address (it is found there). Every page says its
language on <html> (LANG_SCRIPT). Every other request is Streamlit's as before."""
from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# Read by Streamlit's frontend bundle when it loads (window.__streamlit.BACKEND_BASE_URL): the only address it then
# tries. Written before the bundle's script, which is a module and so runs after the page is parsed.
BASE_SCRIPT = ('<script>(() => { const parts = location.pathname.replace(/\\/+$/, "").split("/"); parts.pop(); '
               'window.__streamlit = {BACKEND_BASE_URL: location.origin + parts.join("/") + "/"}; })();</script>')


# The page's language on its <html> element: Streamlit's says lang="en" whatever the page shows, so a screen reader read
# the Chinese pages with an English voice, and a browser picked its fonts and offered translation for English. The
# address's ?lang= (ui.i18n: zh-TW unless it says en, which the sidebar's switch writes there) decides it, at once and
# after every change of the address (the switch changes it without loading the page again).
HTML_LANG = "zh-TW"  # ui.i18n.DEFAULT_LANG (not imported here: see PRELOADED)
LANG_SCRIPT = ('<script>(() => { const set = () => { document.documentElement.lang = '
               f'new URLSearchParams(location.search).get("lang") === "en" ? "en" : "{HTML_LANG}"; }}; set(); '
               'for (const name of ["pushState", "replaceState"]) { const original = history[name]; '
               'history[name] = function (...args) { const done = original.apply(this, args); set(); return done; }; } '
               'addEventListener("popstate", set); })();</script>')


def page_html(root: bool = False) -> str:
    """Streamlit's index.html with the page's language and LANG_SCRIPT, and, at a page's own address (not root),
    BASE_SCRIPT, first in its head."""
    index = (Path(st.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    if "<head>" not in index:  # another Streamlit's page: served as it is (the frontend then looks for the server)
        return index
    index = index.replace('<html lang="en">', f'<html lang="{HTML_LANG}">', 1)
    return index.replace("<head>", "<head>" + ("" if root else BASE_SCRIPT) + LANG_SCRIPT, 1)


def page_routes(base_url_path: str = "", names: list[str] | None = None) -> list[Route]:
    """GET (and HEAD) of each page's address, as Streamlit answers it (its index.html, not cached) but for BASE_SCRIPT.
    base_url_path: Streamlit's `server.baseUrlPath` ("kpi": /kpi/budget). A page's address is its file's name in pages/
    (Streamlit's, ui.frame.PAGES); read from the folder, not from ui.frame, which the server would import before any
    page run (Streamlit's caches log a warning when made outside one). names: other pages' addresses (a benchmark's
    one-tile app)."""
    def answer(html: str):
        async def endpoint(request: Request) -> HTMLResponse:
            return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
        return endpoint

    page, root = answer(page_html()), answer(page_html(root=True))  # the root: the server is found there
    prefix = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    names = [path.stem for path in sorted(PAGES_DIR.glob("*.py"))] if names is None else names
    return [Route(f"{prefix}/", root, methods=["GET", "HEAD"]),
            *(Route(f"{prefix}/{name}", page, methods=["GET", "HEAD"]) for name in names)]


# What a first page run imports besides Streamlit (about a second on this machine): not ui.*, whose Streamlit caches
# log a warning when made outside a page run.
PRELOADED = ("kpi.metrics", "kpi.present", "kpi.imports", "kpi.store", "kpi.competency", "kpi.auth", "kpi.reports")


def preload(modules: tuple[str, ...]) -> None:
    """Import modules (before the server takes its first visitor). One that fails is left to the page run that
    imports it, which shows the error where it belongs."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - said by the page run that imports it
            pass


def open_browser() -> None:
    """The dashboard in the user's browser, as `streamlit run` opens it on a desktop (not when headless, as on a server
    without a display): st.App's server does not. The address as Streamlit's bootstrap picks it."""
    from streamlit import cli_util, config
    from streamlit.web.server import server_util

    if config.get_option("server.headless"):
        return
    if config.is_manually_set("browser.serverAddress"):
        address = config.get_option("browser.serverAddress")
    elif config.is_manually_set("server.address"):
        address = server_util.get_display_address(config.get_option("server.address"))
    else:
        address = "localhost"
    cli_util.open_browser(server_util.get_url(address))


OPEN_AFTER = 0.5  # seconds: the server listens once this lifespan has started


@contextlib.asynccontextmanager
async def lifespan(app: st.App) -> AsyncIterator[None]:
    """st.App's start: the kpi package imported before the first visitor can arrive (about a second, which that
    visitor's first page run paid; in a thread of its own beside a page run, two imports of the same modules could
    deadlock), then the browser opened."""
    await asyncio.to_thread(preload, PRELOADED)
    asyncio.get_running_loop().call_later(OPEN_AFTER, open_browser)
    yield
