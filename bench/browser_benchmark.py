"""Browser benchmark: what a visitor waits for in Chromium, page by page, beside a one-tile app served the same way.

    python bench/browser_benchmark.py                       # every page, median of 5
    python bench/browser_benchmark.py --runs 9 --pages weekly,budget
    python bench/browser_benchmark.py --smoke               # 1 run of weekly and data status: the check, for CI

Each figure is wall-clock seconds seen from the test's side of Chromium (Debian's /usr/bin/chromium driven by
Playwright), with the dashboard served by `streamlit run` on this machine:

- new visit: a new browser context (empty cache, no cookies), goto -> the page's first meaningful element visible
  ("first") -> idle: the run's script_finished message received, the running indicator gone, nothing stale, every
  chart and table drawn, two animation frames later ("idle").
- filter change: on that idle page, pick a week in the sidebar that no earlier change of this run picked (so its
  queries are not cached yet) -> idle again ("filter"); then back to the week shown before, whose queries are
  cached ("back").
- section: on that page, each of its other sections (tabs, ui.widgets.sections: a visit draws only the open one)
  clicked in turn -> idle; the slowest of them ("section").
- after import: 20 new contacts imported into the latest complete week through kpi.imports.import_file while the
  server runs (as `python -m kpi ingest` from cron would), then at once a new visit -> idle: the data version changed,
  every cached query misses. "warmed": one more import, then WARM_WAIT seconds in which the server's warmer
  (ui.data.Warmer) recomputes what pages asked for lately, then one new visit per page.
- first visit ever: a new server on a path with no database; the new visit waits for the sample load (the bundled
  sample_data/) and then the weekly page. Also when its progress bar first showed.

The dashboard is measured on the server of the (last) first visit ever, which has just loaded the sample data. The
floor is a one-tile Streamlit app (one st.metric) started by the same command from the same folder (so the same
.streamlit/config.toml), measured before each page in every run so that both see the same load; pages are given as a
multiple of it ("x floor"). Each app is served as dashboard.py is (st.App: `streamlit run` imports the file for its
`app`). Every page but the weekly one has its own address (/quality...), where the dashboard's HTML names the server's
address (ui.serve; without it Streamlit's frontend first looked for the server under the page's address, failed,
waited 100 ms and tried the root): so the floor's tile is also measured on a page of its own (/tile), served the same
way, and "x its" gives each page against the floor at the same kind of address. Beside them, the frame: a small app
with the dashboard's sidebar and navigation (the widgets every page draws besides its content) and one tile, the
least a page of this dashboard can cost. The breakdown of a new visit: server = new_session -> script_finished as
the page received them (the script's run and the messages' way); payload = bytes the websocket received; browser =
script_finished -> idle.

The check (a failure exits with status 1): no page shows an exception; the floor shows its tile; the weekly page's
five volumes are week_summary's for the week it shows (on a new visit, after a filter change, after an import and on
the first visit ever); the data-status page's row counts are row_counts' (also after an import); the first visit ever
shows its progress bar before the page. The machine is shared: compare ratios measured in one run. No test asserts a
time. Without Chromium or Playwright the script says so and exits 0, except under CI=true (exit 1).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from _common import ROOT, CheckFailed, checked, work_dir

from kpi import imports, metrics, store

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1500, "height": 1000}
FLOOR_VALUE = "80.0%"
# Each app is served as dashboard.py is: `streamlit run` finds its `app` (st.App) and serves it with uvicorn.
SERVED = """

if __name__ != "__main__":  # imported by `streamlit run` to serve it, as dashboard.py is
    app = st.App(__file__{routes})
"""
FLOOR_APP = (f'import streamlit as st\n\nif __name__ == "__main__":\n'
             f'    st.metric("service level", "{FLOOR_VALUE}")\n') + SERVED.format(routes="")
# The same tile on a page with its own address (/tile), as every page but the weekly one is. Streamlit's frontend
# opened at such an address first looked for the server under it (GET /tile/_stcore/health, which fails), waited 100 ms
# and tried the root (its getPossibleBaseUris and ping loop); the dashboard's pages now name the server's address in
# their HTML (ui.serve), and so does this page.
FLOOR_PAGE_APP = f"""import streamlit as st


def tile():
    st.metric("service level", "{FLOOR_VALUE}")


if __name__ == "__main__":
    st.navigation([st.Page(lambda: None, title="home", default=True), st.Page(tile, title="tile", url_path="tile")],
                  position="hidden").run()
""" + SERVED.format(routes=', routes=__import__("ui.serve").serve.page_routes(names=["tile"])')
# The dashboard's frame with one tile: what every page draws besides its content (dashboard.py, ui/frame.py): grouped
# navigation with icons, the language switch, the filter panel (a popover holding the period switch and the
# week/team/channel/queue boxes) with the filters written out below it, the cut-off caption and the print view switch.
FRAME_APP = f"""import streamlit as st


def main():
    st.set_page_config(page_title="KPI", layout="wide")
    st.sidebar.segmented_control("語言 Language", ["zh-TW", "en"], default="zh-TW", key="lang")
    panel = st.sidebar.popover("篩選條件", icon=":material/filter_list:", width="stretch")
    panel.segmented_control("期間", ["週", "月", "季", "自訂"], default="週", key="period_kind")
    panel.selectbox("週次", [f"2026-W{{w:02d}}" for w in range(47, 0, -1)], key="week", help="ISO 週")
    for label in ("組別", "管道", "佇列"):
        panel.selectbox(label, ["全部", "a", "b", "c"], key=label)
    st.sidebar.markdown("**2026-W47**（2026-11-16 至 2026-11-22）  \\n組別：全部  \\n管道：電話  \\n"
                        "佇列：全部")
    st.sidebar.caption("資料截止：2026-11-23 10:11")
    st.sidebar.toggle("列印檢視", key="print_view", help="A4")

    def tile():
        st.title("每週績效")
        st.metric("service level", "{FLOOR_VALUE}")

    pages = [st.Page(tile, title="每週績效", icon=":material/dashboard:", default=True)]
    pages += [st.Page(lambda: st.title(str(i)), title=f"page {{i}}", icon=":material/menu_book:", url_path=f"p{{i}}")
              for i in range(6)]
    st.navigation({{"主管": pages[:2], "財務": pages[2:3], "訓練": pages[3:4], "資料": pages[4:]}}).run()


if __name__ == "__main__":
    main()
""" + SERVED.format(routes="")
METRIC = '[data-testid="stMetric"]'  # the floor's and the frame's one st.metric
TILE = "div.kpi-tile"  # a page's KPI tile (kpi.present.tiles_html)
# url path and the first element a reader looks for on that page
PAGES = {
    "weekly": ("", TILE),
    "quality": ("quality", TILE),
    "budget": ("budget", TILE),
    "trainer": ("trainer", 'table.kpi-table, [data-testid="stAlert"]'),
    "import_data": ("import_data", '[data-testid="stFileUploader"]'),
    "staffing": ("staffing", TILE),
    "data_status": ("data_status", TILE),
    "glossary": ("glossary", "table.kpi-table"),
}
SMOKE_PAGES = ("weekly", "data_status")
RUNS, SMOKE_RUNS, FIRST_RUNS = 5, 1, 2
IMPORTED = 20  # contacts per import
WARM_WAIT = 30.0  # seconds between an import and the "warmed" visits: the server's warmer recomputes meanwhile
TIMEOUT_MS = 180_000
# Idle: nothing running, nothing stale, every chart and table drawn.
DRAWN = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')
    && ![...document.querySelectorAll('[data-testid="stSkeleton"]')].some(e => e.checkVisibility())
    && [...document.querySelectorAll('.js-plotly-plot')].every(e => e.querySelector('.main-svg'))
    && [...document.querySelectorAll('[data-testid="stEChartsChart"]')].every(e => e.querySelector('canvas, svg'))
    && [...document.querySelectorAll('.kpi-chart img')].every(e => e.complete)
    && [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].every(e => e.querySelector('canvas, svg'))
    && [...document.querySelectorAll('[data-testid="stDataFrame"]')].every(e => e.querySelector('canvas'))"""
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


# ---------------------------------------------------------------- servers

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(script: Path, db: Path, log: Path) -> Iterator[str]:
    """`streamlit run script` from the repository folder with KPI_DB=db, on a free port; yields its URL."""
    port = _free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env={**os.environ, "KPI_DB": str(db)}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise CheckFailed(f"{script.name} did not start (see {log})") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- one browser session

@dataclass
class Timing:
    first: float
    idle: float
    server: float | None = None  # new_session -> script_finished
    kib: float = 0.0  # websocket bytes received
    browser: float | None = None  # script_finished -> idle


class Visit:
    """A new browser context on one URL, with the Streamlit messages it receives counted as they arrive."""

    def __init__(self, browser, url: str):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self.ctx = browser.new_context(viewport=VIEWPORT)
        self.page = self.ctx.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.url = url
        self.finished = 0
        self.received = 0
        self.session_at: float | None = None
        self.finished_at: float | None = None
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        self.received += len(payload)
        msg = self._msg()
        msg.ParseFromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.session_at = time.perf_counter()
        elif kind == "script_finished" and msg.script_finished != msg.FINISHED_EARLY_FOR_RERUN:
            self.finished += 1
            self.finished_at = time.perf_counter()

    def settle(self, runs_before: int) -> None:
        """Until a run that started after `runs_before` finished runs has finished and the page has drawn it."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while self.finished <= runs_before:
            if time.monotonic() > deadline:
                raise CheckFailed(f"{self.page.url}: no script run finished within {TIMEOUT_MS / 1000:.0f} s")
            self.page.wait_for_timeout(10)
        self.page.wait_for_function(DRAWN, polling=20)
        self.page.evaluate(TWO_FRAMES)

    def open(self, first_selector: str) -> Timing:
        t0 = time.perf_counter()
        self.page.goto(self.url)
        self.page.wait_for_selector(first_selector, state="visible")
        first = time.perf_counter() - t0
        self.settle(0)
        return self._timing(t0, first, 0)

    def change_week(self, label: str) -> Timing:
        """Pick `label` in the week box of the sidebar's filter panel; the time runs from the click on the option."""
        panel = self.page.locator('[data-testid="stPopoverBody"]')  # the sidebar's filter panel (ui.frame)
        if not panel.is_visible():
            self.page.locator('[data-testid="stSidebar"] [data-testid="stPopover"] button').first.click()
            panel.wait_for()
        box = panel.locator('[data-testid="stSelectbox"]').first.locator("input")
        box.click()
        box.fill(label)
        option = self.page.get_by_role("option", name=label, exact=True)
        option.wait_for()
        before, received = self.finished, self.received
        t0 = time.perf_counter()
        option.click()
        self.settle(before)
        idle = time.perf_counter() - t0
        if box.input_value() != label:
            raise CheckFailed(f"{self.page.url}: the week box shows {box.input_value()!r} after picking {label!r}")
        return Timing(first=idle, idle=idle, kib=(self.received - received) / 1024)

    def has_filters(self) -> bool:
        """Whether the sidebar has its filter panel (not on pages that read no filter: ui.frame.UNFILTERED)."""
        return self.page.locator('[data-testid="stSidebar"] [data-testid="stPopover"]').count() > 0

    def months(self) -> int:
        """How many month buttons the budget page offers (1 月 ... its last month with actuals)."""
        return self.page.locator('[data-testid="stMain"] [data-testid="stButtonGroup"]').nth(1).locator("button").count()

    def pick_month(self, index: int) -> Timing:
        """Click the budget page's month button at index; the time runs from the click to idle: the budget's filter
        (it reads none of the sidebar's)."""
        button = self.page.locator('[data-testid="stMain"] [data-testid="stButtonGroup"]').nth(1).locator("button").nth(index)
        label = button.inner_text().strip()
        before, received = self.finished, self.received
        t0 = time.perf_counter()
        button.click()
        self.settle(before)
        idle = time.perf_counter() - t0
        self.no_exception()
        if button.get_attribute("aria-checked") != "true":
            raise CheckFailed(f"{self.page.url}: the month {label!r} is not chosen after its button was clicked")
        return Timing(first=idle, idle=idle, kib=(self.received - received) / 1024)

    def sections(self) -> list[str]:
        """The names of the page's sections (tabs, ui.widgets.sections) not open now."""
        tabs = self.page.locator('[data-testid="stTabs"] [role="tab"]')
        return [tabs.nth(i).inner_text().strip() for i in range(tabs.count())
                if tabs.nth(i).get_attribute("aria-selected") != "true"]

    def open_section(self, name: str) -> Timing:
        """Click a section's tab; the time runs from the click to idle (the run it starts drew the section)."""
        tab = self.page.get_by_role("tab", name=name, exact=True)
        before, received = self.finished, self.received
        t0 = time.perf_counter()
        tab.click()
        self.settle(before)
        idle = time.perf_counter() - t0
        if tab.get_attribute("aria-selected") != "true":
            raise CheckFailed(f"{self.page.url}: the section {name!r} is not open after its tab was clicked")
        self.no_exception()
        return Timing(first=idle, idle=idle, kib=(self.received - received) / 1024)

    def _timing(self, t0: float, first: float, received_before: int) -> Timing:
        idle = time.perf_counter() - t0
        server = self.finished_at - self.session_at if self.session_at and self.finished_at else None
        browser = t0 + idle - self.finished_at if self.finished_at else None
        return Timing(first, idle, server, (self.received - received_before) / 1024, browser)

    def metric_values(self) -> list[str]:
        """The values of the st.metric (floor, frame) or the tiles (pages) shown, in order."""
        return self.page.locator('[data-testid="stMetricValue"], div.kpi-tile .kpi-value').all_inner_texts()

    def no_exception(self) -> None:
        errors = self.page.locator('[data-testid="stException"]').all_inner_texts()
        if errors:
            raise CheckFailed(f"{self.page.url} shows an exception: {errors[0][:300]}")

    def close(self) -> None:
        self.ctx.close()


# ---------------------------------------------------------------- what the pages must show

class Expected:
    """The kpi functions' figures on the database the server reads."""

    def __init__(self, db: Path):
        self.db = db
        with store.open_db(db, read_only=True) as con:
            self.weeks = metrics.available_weeks(con)
            self.latest = metrics.latest_complete_week(con)
        self._unused = self._complete_before()

    def _complete_before(self) -> list[date]:
        # complete weeks before the one shown by default (an incomplete week's label carries a note)
        return [w for w in self.weeks if w < self.latest]

    def next_week(self) -> date:
        """A week no filter change of this run has picked yet (its queries are not cached), newest first."""
        if not self._unused:
            self._unused = self._complete_before()
        return self._unused.pop(0)

    def volumes(self, week: date) -> list[str]:
        with store.open_db(self.db, read_only=True) as con:
            s = metrics.week_summary(con, week, channel="phone")  # the sidebar's default channel
        return [f"{v:,}" for v in (s.offered, s.answered, s.abandoned, s.surveys, s.complaints)]

    def row_counts(self) -> list[str]:
        with store.open_db(self.db, read_only=True) as con:
            return [f"{n:,}" for n in store.row_counts(con).values()]


def check_shows(name: str, visit: Visit, expected: Expected, week: date | None) -> None:
    visit.no_exception()
    if name == "weekly":
        want, shown = expected.volumes(week or expected.latest), visit.metric_values()[:5]
        if shown != want:
            raise CheckFailed(f"weekly page ({week or expected.latest}) shows volumes {shown}, "
                              f"week_summary gives {want}")
    elif name == "data_status":
        want, shown = expected.row_counts(), [v.split()[0] for v in visit.metric_values()]  # "300,000 筆"
        if shown != want:
            raise CheckFailed(f"data status shows row counts {shown}, row_counts gives {want}")


def contacts_file(path: Path, week: date, batch: int) -> Path:
    """IMPORTED answered phone contacts on the Wednesday of `week`, with ids no other batch uses."""
    day = datetime.combine(week + timedelta(days=2), datetime.min.time()) + timedelta(hours=10)
    rows = ["contact_id,arrived_at,channel,queue,team,agent_id,answered,answered_at,wait_seconds,talk_seconds,"
            "hold_seconds,acw_seconds,transferred,resolved_first_contact,customer_id"]
    for i in range(IMPORTED):
        at = day + timedelta(minutes=3 * i)
        rows.append(f"BENCH-{batch}-{i},{at:%Y-%m-%d %H:%M:%S},phone,billing,帳務服務組,A001,Y,"
                    f"{at + timedelta(seconds=12):%Y-%m-%d %H:%M:%S},12,240,0,30,N,Y,CU-BENCH-{i}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- the run

@dataclass
class Figures:
    visits: list[Timing] = field(default_factory=list)
    changes: list[Timing] = field(default_factory=list)  # to a week not shown before: its queries run
    returns: list[Timing] = field(default_factory=list)  # back to the week shown before: its queries are cached
    imports: list[Timing] = field(default_factory=list)
    warmed: list[Timing] = field(default_factory=list)  # WARM_WAIT s after an import: the warmer had time
    sections: list[Timing] = field(default_factory=list)  # each other section (tab) of the page opened


def median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def first_visit(browser, url: str, db: Path) -> tuple[float | None, Timing]:
    """A new visit to a server started on a path with no database: the sample load, then the weekly page. Returns
    when the progress bar first showed (None: it did not) and the visit's timing."""
    visit = Visit(browser, url)
    t0 = time.perf_counter()
    visit.page.goto(url)
    visit.page.wait_for_selector(f'[data-testid="stProgress"], {TILE}', state="visible")
    progress = time.perf_counter() - t0 if visit.page.locator('[data-testid="stProgress"]').count() else None
    visit.page.wait_for_selector(TILE, state="visible")
    first = time.perf_counter() - t0
    visit.settle(0)
    timing = visit._timing(t0, first, 0)
    check_shows("weekly", visit, Expected(db), None)
    visit.close()
    return progress, timing


def measure(browser, floor_url: str, frame_url: str, url: str, db: Path, work: Path, pages: list[str], runs: int,
            warm_wait: float, floor_page_url: str) -> tuple[list[Timing], list[Timing], dict[str, Figures], list[Timing]]:
    expected = Expected(db)
    floor: list[Timing] = []
    frame: list[Timing] = []
    floor_page: list[Timing] = []
    figures = {name: Figures() for name in pages}

    def floor_visit() -> None:  # and the frame's, and the floor's tile at a page's address
        for what, app, timings in (("floor", floor_url, floor), ("frame", frame_url, frame),
                                   ("floor's page", f"{floor_page_url}/tile", floor_page)):
            visit = Visit(browser, app)
            timings.append(visit.open(METRIC))
            if visit.metric_values() != [FLOOR_VALUE]:
                raise CheckFailed(f"the {what} app shows {visit.metric_values()}, not [{FLOOR_VALUE!r}]")
            visit.close()

    # One visit per page first: the server's first visit of a page fills its caches and is not counted.
    for name in pages:
        visit = Visit(browser, f"{url}/{PAGES[name][0]}")
        visit.open(PAGES[name][1])
        visit.close()
    floor_visit()
    for _ in range(runs):  # new visits and filter changes on the warm server, each page beside a floor visit
        for name in pages:
            path, first = PAGES[name]
            floor_visit()
            visit = Visit(browser, f"{url}/{path}")
            figures[name].visits.append(visit.open(first))
            check_shows(name, visit, expected, None)
            if visit.has_filters():  # a page the sidebar's filters apply to: another week
                week = expected.next_week()
                figures[name].changes.append(visit.change_week(metrics.iso_week_label(week)))
                check_shows(name, visit, expected, week)
                figures[name].returns.append(visit.change_week(metrics.iso_week_label(expected.latest)))
                check_shows(name, visit, expected, None)
            elif name == "budget" and visit.months() > 1:  # its own filter: the month before, then the latest again
                figures[name].changes.append(visit.pick_month(-2))
                figures[name].returns.append(visit.pick_month(-1))
            for section in visit.sections():  # the other sections, each drawn when its tab is clicked
                figures[name].sections.append(visit.open_section(section))
            visit.close()
    batch = 0
    for _ in range(runs):  # last: an import changes the data version, so every cached query misses afterwards
        for name in pages:
            path, first = PAGES[name]
            batch += 1
            imports.import_file("contacts", contacts_file(work / f"bench-{batch}.csv", expected.latest, batch), db=db,
                                source="cli", run_by="browser_benchmark")
            visit = Visit(browser, f"{url}/{path}")
            figures[name].imports.append(visit.open(first))
            check_shows(name, visit, expected, None)
            visit.close()
    if warm_wait:  # as after a nightly import: the server's warmer has recomputed what pages asked for lately
        batch += 1
        imports.import_file("contacts", contacts_file(work / f"bench-{batch}.csv", expected.latest, batch), db=db,
                            source="cli", run_by="browser_benchmark")
        time.sleep(warm_wait)
        for name in pages:
            path, first = PAGES[name]
            visit = Visit(browser, f"{url}/{path}")
            figures[name].warmed.append(visit.open(first))
            check_shows(name, visit, expected, None)
            visit.close()
    return floor, frame, figures, floor_page


def _s(v: float | None, width: int = 8) -> str:
    return f"{'—':>{width}}" if v is None else f"{v:>{width}.2f}"


def report(floor: list[Timing], frame: list[Timing], figures: dict[str, Figures],
           first: list[tuple[float | None, Timing]], floor_page: list[Timing]) -> None:
    f_first, f_idle = median([t.first for t in floor]), median([t.idle for t in floor])
    p_idle = median([t.idle for t in floor_page])
    print(f"\n{'page':<22}{'first s':>8}{'idle s':>8}{'x floor':>9}{'x its':>8}{'filter s':>10}{'back s':>8}"
          f"{'section s':>11}{'after import s':>16}{'warmed s':>10}{'server s':>10}{'ws KiB':>8}{'browser s':>11}")
    print(f"{'one-tile app (floor)':<22}{_s(f_first)}{_s(f_idle)}{1:>8.2f}x{1:>7.2f}x{'':>10}{'':>8}{'':>11}{'':>16}"
          f"{'':>10}{_s(median([t.server for t in floor]), 10)}{median([t.kib for t in floor]):>8.0f}"
          f"{_s(median([t.browser for t in floor]), 11)}")
    print(f"{'its tile at /tile':<22}{_s(median([t.first for t in floor_page]))}{_s(p_idle)}{p_idle / f_idle:>8.2f}x"
          f"{1:>7.2f}x{'':>10}{'':>8}{'':>11}{'':>16}{'':>10}{_s(median([t.server for t in floor_page]), 10)}"
          f"{median([t.kib for t in floor_page]):>8.0f}{_s(median([t.browser for t in floor_page]), 11)}")
    frame_idle = median([t.idle for t in frame])
    print(f"{'frame and one tile':<22}{_s(median([t.first for t in frame]))}{_s(frame_idle)}"
          f"{frame_idle / f_idle:>8.2f}x{frame_idle / f_idle:>7.2f}x{'':>10}{'':>8}{'':>11}{'':>16}{'':>10}{_s(median([t.server for t in frame]), 10)}"
          f"{median([t.kib for t in frame]):>8.0f}{_s(median([t.browser for t in frame]), 11)}")
    for name, fig in figures.items():
        idle = median([t.idle for t in fig.visits])
        its = idle / (f_idle if PAGES[name][0] == "" else p_idle)  # the floor at the same kind of address
        print(f"{name:<22}{_s(median([t.first for t in fig.visits]))}{_s(idle)}{idle / f_idle:>8.2f}x{its:>7.2f}x"
              f"{_s(median([t.idle for t in fig.changes]), 10)}{_s(median([t.idle for t in fig.returns]))}"
              f"{_s(max([t.idle for t in fig.sections], default=None), 11)}"
              f"{_s(median([t.idle for t in fig.imports]), 16)}{_s(median([t.idle for t in fig.warmed]), 10)}"
              f"{_s(median([t.server for t in fig.visits]), 10)}{median([t.kib for t in fig.visits]):>8.0f}"
              f"{_s(median([t.browser for t in fig.visits]), 11)}")
    for progress, t in first:
        print(f"{'first visit ever':<22}{_s(t.first)}{_s(t.idle)}{t.idle / f_idle:>8.2f}x{'':>8}   progress bar after "
              f"{_s(progress, 0)} s; server {_s(t.server, 0)} s (sample load and page)")
    print(f"\nfirst/idle: medians of {len(next(iter(figures.values())).visits)} new visits per page, "
          f"{len(floor)} of the floor and of the frame (the dashboard's sidebar and navigation, one tile); "
          "x floor = idle / the floor's idle; x its = idle / the idle of the floor's tile at the same kind of address "
          "(the weekly page at the root: the floor; every other page at its own address: the tile at /tile, its HTML "
          "naming the server's address as the dashboard's pages do, ui.serve). filter: to a week not shown before (budget: the month before, cached "
          "after the first run; the import, data and glossary pages have no filter); back: to the week (month) shown before (cached); section: the slowest of the page's other sections (tabs) opened, "
          "each drawn only when its tab is clicked; after import: a new visit right after an import; warmed: one new visit "
          f"{WARM_WAIT:.0f} s after an import (not in --smoke)")


def run(args: argparse.Namespace) -> None:
    from playwright.sync_api import sync_playwright

    pages = list(SMOKE_PAGES) if args.smoke else args.pages
    runs = SMOKE_RUNS if args.smoke else args.runs
    print(f"machine         {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} before the runs"
          " (other processes share the cores: compare ratios measured in one run)")
    started = time.perf_counter()
    with work_dir(None, "kpi-browser-bench-") as work, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print(f"browser         Chromium {browser.version}; viewport {VIEWPORT['width']}x{VIEWPORT['height']}")
        floor_app, frame_app, floor_page_app = work / "floor.py", work / "frame.py", work / "floor_page.py"
        floor_app.write_text(FLOOR_APP, encoding="utf-8")
        floor_page_app.write_text(FLOOR_PAGE_APP, encoding="utf-8")
        frame_app.write_text(FRAME_APP, encoding="utf-8")
        first, last = [], (1 if args.smoke else FIRST_RUNS) - 1
        for i in range(last + 1):
            db = work / f"sample-{i}.duckdb"  # no file yet: the first visit ever loads the sample data into it
            with served(ROOT / "dashboard.py", db, work / f"dashboard-{i}.log") as url:
                first.append(first_visit(browser, url, db))
                if i == last:  # the last server, now on the sample data, goes on
                    with served(floor_app, db, work / "floor.log") as floor_url, \
                            served(frame_app, db, work / "frame.log") as frame_url, \
                            served(floor_page_app, db, work / "floor_page.log") as floor_page_url:
                        floor, frame, figures, floor_page = measure(browser, floor_url, frame_url, url, db, work, pages,
                                                                    runs, 0 if args.smoke else WARM_WAIT, floor_page_url)
        browser.close()
    report(floor, frame, figures, first, floor_page)
    print(f"load average    {os.getloadavg()[0]:.1f} after the runs; {time.perf_counter() - started:.0f} s in all")
    if any(progress is None for progress, _ in first):
        raise CheckFailed("the first visit ever showed no progress bar before the page")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=RUNS,
                    help=f"new visits, filter changes and imports per page (default {RUNS})")
    ap.add_argument("--pages", default=",".join(PAGES), help=f"comma-separated, of {', '.join(PAGES)} (default all)")
    ap.add_argument("--smoke", action="store_true",
                    help=f"{SMOKE_RUNS} run of {', '.join(SMOKE_PAGES)} and one first visit ever: the check, for CI")
    args = ap.parse_args(argv)
    args.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    if unknown := [p for p in args.pages if p not in PAGES]:
        ap.error(f"unknown page(s) {unknown}; pages are {', '.join(PAGES)}")
    if args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    try:
        import playwright.sync_api  # noqa: F401
        missing = (None if Path(CHROMIUM).exists()
                   else f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    except ImportError:
        missing = "playwright is not installed (requirements-dev.txt)"
    if missing:
        if os.environ.get("CI") == "true":
            print(f"FAILED          CI=true but {missing}", file=sys.stderr)
            return 1
        print(f"skipped         {missing}")
        return 0
    return checked(run, args)


if __name__ == "__main__":
    sys.exit(main())
