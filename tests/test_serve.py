"""ui.serve: each page's own address answered with Streamlit's page and the server's address written in."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import streamlit as st
from starlette.applications import Starlette

with warnings.catch_warnings():  # starlette 1.10 asks for httpx2 for its test client; the pinned httpx still serves
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from ui.frame import PAGES
from ui.i18n import DEFAULT_LANG, LANGS
from ui.serve import BASE_SCRIPT, HTML_LANG, LANG_SCRIPT, PRELOADED, page_html, page_routes, preload

INDEX = (Path(st.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")


def test_a_pages_address_gets_streamlits_page_with_the_base_script_first_in_its_head():
    client = TestClient(Starlette(routes=page_routes()))
    answer = client.get("/budget")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == page_html()
    assert answer.text.index(BASE_SCRIPT) < answer.text.index('<script type="module"')  # before the bundle reads it
    # nothing else of Streamlit's page changed but its language: zh-TW, and the script that follows the address's
    unchanged = answer.text.replace(BASE_SCRIPT + LANG_SCRIPT, "").replace('<html lang="zh-TW">', '<html lang="en">')
    assert unchanged == INDEX
    assert client.head("/quality").status_code == 200
    assert client.get("/budget/_stcore/health").status_code == 404  # only the page's own address
    assert client.post("/budget").status_code == 405


def test_the_root_gets_the_page_in_its_language_without_the_servers_address():
    """At the server's root (the weekly page) the frontend finds the server where it is: BASE_SCRIPT there would name
    the parent of /kpi/ under a base path. The language is said there too."""
    client = TestClient(Starlette(routes=page_routes("kpi")))
    answer = client.get("/kpi/")
    assert answer.status_code == 200 and answer.text == page_html(root=True) and BASE_SCRIPT not in answer.text
    assert '<html lang="zh-TW">' in answer.text
    assert answer.text.index(LANG_SCRIPT) < answer.text.index('<script type="module"')
    # the language the script sets is the one ui.i18n reads from the address: zh-TW unless ?lang=en
    assert HTML_LANG == DEFAULT_LANG and set(LANGS) == {"zh-TW", "en"} and '"en" ? "en" : "zh-TW"' in LANG_SCRIPT


def test_every_page_of_the_navigation_has_its_address_and_only_those():
    paths = {r.path for r in page_routes()}
    assert paths == {"/", *(f"/{Path(path).stem}" for _, path, _, _, _ in PAGES)}
    assert {r.path for r in page_routes("kpi")} == {f"/kpi{p}" for p in paths} == {r.path for r in page_routes("/kpi/")}
    assert TestClient(Starlette(routes=page_routes("kpi"))).get("/budget").status_code == 404


def test_the_dashboard_imported_by_the_server_is_an_app_with_those_routes_and_its_start(monkeypatch):
    """`streamlit run dashboard.py` imports the file as the module `dashboard` and serves its `app` (st.App); a page
    run executes it as __main__ instead."""
    import importlib
    import sys

    from streamlit import config

    import ui.serve

    monkeypatch.setattr(config, "_main_script_path", config._main_script_path)  # st.App sets it: put back after
    monkeypatch.setitem(sys.modules, "dashboard", None)  # (removed after the test, whatever it held)
    del sys.modules["dashboard"]
    dashboard = importlib.import_module("dashboard")
    assert isinstance(dashboard.app, st.App) and dashboard.app._user_lifespan is ui.serve.lifespan
    assert [r.path for r in dashboard.app._user_routes] == [r.path for r in page_routes()]


def test_the_start_imports_the_kpi_package_before_the_first_visitor_then_opens_the_browser(monkeypatch):
    import asyncio

    import ui.serve

    done = []
    monkeypatch.setattr(ui.serve, "preload", lambda modules: done.append(("preload", modules)))
    monkeypatch.setattr(ui.serve, "open_browser", lambda: done.append(("browser",)))
    monkeypatch.setattr(ui.serve, "OPEN_AFTER", 0.01)

    async def start() -> None:
        async with ui.serve.lifespan(None):
            assert done == [("preload", PRELOADED)]  # imported before the server serves
            await asyncio.sleep(0.1)
            assert done == [("preload", PRELOADED), ("browser",)]

    asyncio.run(start())


@pytest.mark.parametrize("headless, address, opened", [
    (True, None, []), (False, None, ["http://localhost:8501"]), (False, "127.0.0.1", ["http://127.0.0.1:8501"])])
def test_the_browser_opens_as_streamlit_run_opens_it(monkeypatch, headless, address, opened):
    from streamlit import cli_util, config

    from ui.serve import open_browser

    monkeypatch.setattr(config, "get_option", lambda key: {"server.headless": headless, "server.address": address,
                                                            "server.port": 8501, "browser.serverPort": 8501,
                                                            "server.baseUrlPath": ""}.get(key))
    monkeypatch.setattr(config, "is_manually_set", lambda key: key == "server.address" and address is not None)
    seen = []
    monkeypatch.setattr(cli_util, "open_browser", seen.append)
    open_browser()
    assert seen == opened


def test_preload_imports_what_it_is_given_and_leaves_a_failing_module_to_the_page(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "kpi.reports", raising=False)
    preload(("kpi.no_such_module", "kpi.reports"))
    assert "kpi.reports" in sys.modules and "kpi.no_such_module" not in sys.modules
