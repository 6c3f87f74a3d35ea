"""The presets zendesk_talk, zendesk_tickets, freshdesk, freshdesk_email and surveycake: each fixture (tests/fixtures/
presets/, written from the vendor's documented field names) imports with no mapping file, its preset recognised by its
headers, and gives the figures worked out by hand below. The week is 2026-11-16 (Mon) to 2026-11-22 in Taipei; the
exports' UTC times are 8 hours behind."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from kpi import imports, metrics
from helpers import rows

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "presets"
WEEK = (date(2026, 11, 16), date(2026, 11, 22))


def ingest(dataset: str, path: Path, db: Path):
    """Import a file as `python -m kpi ingest DATASET FILE` does with no --mapping: the preset its headers match."""
    mapping, preset = imports.choose_mapping(dataset, path)
    result = imports.import_file(dataset, path, mapping, db=db)
    return preset, result


def week_kpis(db: Path, **filters) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return metrics.compute_kpis(con, *WEEK, **filters).iloc[0].to_dict()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------------- freshdesk

def test_freshdesk_tickets_as_complaints_give_the_resolution_figures(db):
    preset, result = ingest("complaints", FIXTURES / "freshdesk.csv", db)
    assert preset.name == "freshdesk"
    assert (result.rows_read, result.inserted, len(result.rejects)) == (12, 12, 0)
    assert rows(db, "SELECT channel, count(*) FROM complaints GROUP BY 1 ORDER BY 1") == [
        ("chat", 1), ("email", 7), ("phone", 2), ("web", 2)]
    k = week_kpis(db)
    # Opened in the week: 101 102 103 104 105 112 106 107 108 = 9 (109 the Sunday before, 111 and 110 after). The data
    # reach 2026-11-30 09:00 (110 opened): the week has matured (7 days after 2026-11-22).
    assert k["complaints"] == 9
    # Resolved: all but 104 (Pending) and 112 (Open) = 7.
    assert k["complaint_resolution_rate"] == pytest.approx(7 / 9)
    # Within 7 days of opening: the 7 resolved less 105 (192 h) = 6.
    assert k["complaints_resolved_within_days"] == pytest.approx(6 / 9)
    # By Due by Time: 101 103 106 107 108 = 5; late: 102 (due 11-19 14:00, resolved 11-20 10:00) and 105; open past
    # due at the cut-off: 104 and 112. 5 / (7 + 2).
    assert k["complaint_sla_rate"] == pytest.approx(5 / 9)
    # Hours to resolve: 106 20, 103 24, 101 30, 108 36, 107 49, 102 92, 105 192: median 36.
    assert k["median_resolution_hours"] == pytest.approx(36)


def test_freshdesk_tickets_as_email_contacts_give_the_response_within_target(db):
    preset, result = ingest("contacts", FIXTURES / "freshdesk.csv", db)
    assert preset.name == "freshdesk_email"
    assert (result.inserted, len(result.rejects)) == (12, 0)
    k = week_kpis(db, channel="email")
    # E-mail (Email, Portal, Feedback Widget) in the week: 101 103 104 112 106 107 = 6; answered (an initial response):
    # all but 112.
    assert (k["offered"], k["answered"]) == (6, 5)
    # Within 4 business hours (Mon-Fri 09:00-18:00): 101 2 h, 104 3 h, 106 1.5 h, 107 (Saturday: the clock starts
    # Monday 09:00; answered 09:30) yes; 103 6.5 h no; 112 unanswered, due Friday 12:00 (1 h Thursday + 3 h): a miss.
    assert k["response_within_target_rate"] == pytest.approx(4 / 6)
    assert k["unanswered_backlog"] == 1
