"""Guessing the dataset and pre-filling the mapping from a file's headers."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kpi import imports
from helpers import rows

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"

BIG5_CONTACTS = ("來電編號,通話日期,通話時間,等候時間,通話秒數,是否接通,專員,組別\n"
                 "X1,2026/11/16,09:00:05,20,185,是,A01,帳務組\n"
                 "X2,2026/11/16,09:05:00,95,,否,,帳務組\n")
VENDOR_HEADERS = ["Call ID", "Start Time", "Agent Name", "Queue", "Wait (sec)", "Talk Time", "Hold Time", "Wrap-up",
                  "Transferred?", "Abandoned?"]


def headers_of(path: Path, **options) -> list[str]:
    return list(imports.read_source(path, imports.Options(**options)).columns)




def test_sample_complaints_headers_give_the_hand_written_mapping():
    headers = headers_of(SAMPLES / "complaints.csv", encoding="cp950")
    assert imports.guess_dataset(headers)[0] == "complaints"
    expected = imports.load_mapping(SAMPLES / "complaints.mapping.yaml")
    # Including the ROC date + time pairs: opened_at = [開案日期, 開案時間].
    assert imports.suggest_mapping(headers, "complaints").columns == expected.columns


def test_suggested_complaints_mapping_imports_the_sample_like_the_hand_written_one(tmp_path):
    headers = headers_of(SAMPLES / "complaints.csv")
    ours = imports.import_file("complaints", SAMPLES / "complaints.csv", imports.suggest_mapping(headers, "complaints"),
                              db=tmp_path / "a.duckdb")
    theirs = imports.import_file("complaints", SAMPLES / "complaints.csv", SAMPLES / "complaints.mapping.yaml",
                                db=tmp_path / "b.duckdb")
    assert (ours.inserted, ours.rejected) == (theirs.inserted, theirs.rejected)
    sql = "SELECT * EXCLUDE (import_id, created_import_id) FROM complaints ORDER BY complaint_id"
    # Channel values included: the suggestion recodes 電話/線上文字/電子郵件 as the hand-written mapping does.
    assert rows(tmp_path / "a.duckdb", sql) == rows(tmp_path / "b.duckdb", sql)


def test_sample_surveys_headers_are_canonical_and_map_to_themselves():
    headers = headers_of(SAMPLES / "surveys.csv")
    name, scores = imports.guess_dataset(headers)
    assert name == "surveys" and scores["surveys"] == 1.0
    assert imports.suggest_mapping(headers, "surveys").columns == {h: [h] for h in headers}


def test_sample_budget_sheet_with_months_as_columns():
    headers = headers_of(SAMPLES / "budget.xlsx")
    assert imports.guess_dataset(headers)[0] == "budget"
    m = imports.suggest_mapping(headers, "budget")
    assert m.columns == imports.load_mapping(SAMPLES / "budget.mapping.yaml").columns
    assert m.options.values["measure"]["預算"] == "budget" and m.options.values["line_type"]["收入"] == "revenue"


def test_big5_chinese_contact_headers_are_prefilled_with_the_date_time_pair(db, write):
    f = write("calls.csv", BIG5_CONTACTS, "cp950")
    headers = headers_of(f)
    name, _ = imports.guess_dataset(headers)
    m = imports.suggest_mapping(headers, name)
    assert name == "contacts"
    # 通話時間 next to 通話日期 is the time of day, so talk time is 通話秒數.
    assert m.columns == {"contact_id": ["來電編號"], "arrived_at": ["通話日期", "通話時間"], "team": ["組別"],
                         "agent_id": ["專員"], "answered": ["是否接通"], "wait_seconds": ["等候時間"],
                         "talk_seconds": ["通話秒數"]}
    imports.import_file("contacts", f, m, db=db)
    assert rows(db, "SELECT contact_id, arrived_at::VARCHAR, answered, wait_seconds, talk_seconds FROM contacts ORDER BY 1") == [
        ("X1", "2026-11-16 09:00:05", True, 20.0, 185.0), ("X2", "2026-11-16 09:05:00", False, 95.0, None)]


def test_vendor_english_export_is_contacts_with_abandoned_read_as_not_answered(db, write):
    name, scores = imports.guess_dataset(VENDOR_HEADERS)
    assert name == "contacts" and scores["contacts"] > 0.9
    assert max(v for k, v in scores.items() if k != "contacts") == 0.0
    m = imports.suggest_mapping(VENDOR_HEADERS, "contacts")
    assert m.columns == {"contact_id": ["Call ID"], "arrived_at": ["Start Time"], "queue": ["Queue"],
                         "agent_name": ["Agent Name"], "answered": ["Abandoned?"], "wait_seconds": ["Wait (sec)"],
                         "talk_seconds": ["Talk Time"], "hold_seconds": ["Hold Time"], "acw_seconds": ["Wrap-up"],
                         "transferred": ["Transferred?"]}
    f = write("vendor.csv", ",".join(VENDOR_HEADERS) + "\n"
              "v1,2026-11-16 09:00:00,Amy,Billing,12,300,10,30,No,No\n"
              "v2,2026-11-16 09:01:00,,Billing,40,,,,No,Yes\n")
    imports.import_file("contacts", f, m, db=db)
    # Abandoned? = No means answered; the values are swapped through options.values. A file that names its agents
    # only: the name is their id too.
    assert rows(db, "SELECT contact_id, answered, agent_id, agent_name, acw_seconds FROM contacts ORDER BY 1") == [
        ("v1", True, "Amy", "Amy", 30.0), ("v2", False, None, None, None)]


@pytest.mark.parametrize("headers, dataset", [
    (["問卷編號", "填答時間", "來電編號", "滿意度", "推薦分數", "費力度", "意見"], "surveys"),
    (["Response ID", "Submitted", "Satisfaction", "Likelihood to recommend", "Comments"], "surveys"),
    (["客訴編號", "開案時間", "結案時間", "類別", "優先", "重開", "升級"], "complaints"),
    (["Ticket ID", "Created", "Closed", "Category", "Priority", "Escalated"], "complaints"),
    (["期間", "成本中心", "科目", "類型", "預算", "實際"], "budget"),
    (["部門", "科目", "1月", "2月", "3月"], "budget"),
    (["contact_id", "arrived_at", "wait_seconds"], "contacts"),
    (["進線時間", "等候時間", "通話時間", "話後處理", "轉接"], "contacts"),
])
def test_guess_dataset_from_english_and_chinese_headers(headers, dataset):
    assert imports.guess_dataset(headers)[0] == dataset


@pytest.mark.parametrize("headers", [
    ["name", "price", "colour", "sku"],
    ["產品名稱", "單價", "庫存"],
    ["team", "agent_id", "channel"],  # in three datasets alike, and no id or time to tell them apart
    [],
])
def test_unrelated_headers_guess_none(headers):
    name, scores = imports.guess_dataset(headers)
    assert name is None and set(scores) == {"contacts", "surveys", "complaints", "budget", "budget_drivers", "agent_states",
                                            "schedule"}


def test_each_header_is_used_once_and_a_lone_time_header_stays_a_duration():
    # Without 通話日期 beside it, 通話時間 is talk time; 進線時間 is the arrival.
    m = imports.suggest_mapping(["進線時間", "通話時間", "talk_seconds"], "contacts")
    assert m.columns == {"arrived_at": ["進線時間"], "talk_seconds": ["talk_seconds"]}


def test_near_spellings_match_above_the_threshold_only():
    m = imports.suggest_mapping(["contactid", "arived_at", "qeue", "zzz"], "contacts")
    assert m.columns == {"contact_id": ["contactid"], "arrived_at": ["arived_at"], "queue": ["qeue"]}


def test_a_period_column_means_one_row_per_month_so_no_measure():
    m = imports.suggest_mapping(["月份", "科目", "項目", "預算", "實際"], "budget")
    assert m.columns == {"period": ["月份"], "line": ["科目"], "budget": ["預算"], "actual": ["實際"]}


def test_suggested_mapping_round_trips_through_the_mapping_file_format():
    m = imports.suggest_mapping(VENDOR_HEADERS, "contacts")
    again = imports.parse_mapping(yaml.safe_load(m.to_yaml()))
    assert (again.dataset, again.columns, again.options.values) == ("contacts", m.columns, m.options.values)


def test_a_hand_written_export_the_project_never_saw():
    # Semicolons, "Date/Time" in English month names, an Outcome column instead of yes/no, hh:mm:ss waits.
    headers = ["Call Ref", "Date/Time", "Waited", "Handled by", "Outcome", "Duration"]
    assert imports.guess_dataset(headers)[0] == "contacts"
    m = imports.suggest_mapping(headers, "contacts")
    assert m.columns == {"contact_id": ["Call Ref"], "arrived_at": ["Date/Time"], "wait_seconds": ["Waited"],
                         "agent_id": ["Handled by"], "answered": ["Outcome"], "talk_seconds": ["Duration"]}
    assert m.options.values["answered"]["abandoned"] == "N"


def test_the_import_pages_own_column_names_are_understood():
    from kpi.imports import suggest_mapping
    # A header written as the import page names the column (接通時間, field.answered_at) was left unmapped, and the
    # preview only listed it among the columns not imported.
    from kpi.present import messages

    shown = messages()
    headers = [shown[f"field.{c}"]["zh-TW"] for c in ("contact_id", "arrived_at", "answered_at", "acw_seconds")]
    assert suggest_mapping(headers, "contacts").columns == {
        "contact_id": [headers[0]], "arrived_at": [headers[1]], "answered_at": ["接通時間"], "acw_seconds": [headers[3]]}
    english = [shown[f"field.{c}"]["en"] for c in ("answered_at", "hold_seconds")]
    assert suggest_mapping(["contact_id", "arrived_at", *english], "contacts").columns["answered_at"] == ["Answered at"]
    assert suggest_mapping(["來電編號", "進線時間", "接通時間", "話後秒數"], "contacts").columns == {
        "contact_id": ["來電編號"], "arrived_at": ["進線時間"], "answered_at": ["接通時間"], "acw_seconds": ["話後秒數"]}
