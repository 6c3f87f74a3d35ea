"""Checks on the committed sample data in sample_data/ (and its generator)."""
from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
TEAMS = ["帳務服務組", "技術支援組", "會員服務組"]
TECH = "技術支援組"

CONTACT_HEADER = ("contact_id,arrived_at,channel,queue,team,agent_id,answered,answered_at,"
                  "wait_seconds,talk_seconds,hold_seconds,acw_seconds,transferred,"
                  "resolved_first_contact,customer_id,agent_name")
SURVEY_HEADER = "survey_id,responded_at,contact_id,team,agent_id,csat,nps,ces,comment"
COMPLAINT_HEADER = ("案件編號,開案日期,開案時間,結案日期,結案時間,處理時限(小時),類別,管道,"
                    "負責組別,專員,優先等級,重開次數,是否升級")


@pytest.fixture(scope="module")
def contacts() -> pd.DataFrame:
    df = pd.read_csv(SAMPLE / "contacts.csv.gz", dtype=str, keep_default_na=False)
    for col in ("wait_seconds", "talk_seconds", "hold_seconds", "acw_seconds"):
        df[col] = pd.to_numeric(df[col].replace("", None))
    df["arrived"] = pd.to_datetime(df["arrived_at"], format="%Y-%m-%d %H:%M:%S")
    return df


@pytest.fixture(scope="module")
def surveys() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "surveys.csv", dtype=str, keep_default_na=False,
                       encoding="utf-8-sig")


@pytest.fixture(scope="module")
def complaints() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "complaints.csv", dtype=str, keep_default_na=False,
                       encoding="cp950")


@pytest.fixture(scope="module")
def budget() -> pd.DataFrame:
    return pd.read_excel(SAMPLE / "budget.xlsx", sheet_name="預算與實際", engine="openpyxl")


def first_line(raw: bytes) -> str:
    return raw.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")


def test_headers_and_encodings():
    with gzip.open(SAMPLE / "contacts.csv.gz", "rb") as f:
        head = f.read(4096)
    assert not head.startswith(b"\xef\xbb\xbf")
    assert first_line(head) == CONTACT_HEADER
    raw = (SAMPLE / "surveys.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel-style BOM
    assert first_line(raw[3:]) == SURVEY_HEADER
    text = (SAMPLE / "complaints.csv").read_bytes().decode("cp950")  # strict decode
    assert text.splitlines()[0] == COMPLAINT_HEADER
    with pytest.raises(UnicodeDecodeError):
        (SAMPLE / "complaints.csv").read_bytes().decode("utf-8")


def test_row_counts(contacts, surveys, complaints, budget):
    assert 280_000 <= len(contacts) <= 320_000
    answered = (contacts["answered"] == "Y").sum()
    assert 0.13 <= len(surveys) / answered <= 0.17
    assert 0.012 <= len(complaints) / len(contacts) <= 0.02
    assert len(budget) == 2 * 9  # 9 lines x (預算, 實際)


def test_contacts_range_order_and_ids(contacts):
    assert contacts["arrived"].min() >= pd.Timestamp("2025-09-01")
    assert contacts["arrived"].max() <= pd.Timestamp("2026-11-22 23:59:59")
    assert contacts["arrived"].max() >= pd.Timestamp("2026-11-22 20:00")
    assert contacts["arrived"].is_monotonic_increasing
    assert contacts["contact_id"].is_unique
    assert contacts["contact_id"].is_monotonic_increasing
    assert contacts["contact_id"].str.fullmatch(r"C\d{13}").all()
    assert contacts["customer_id"].str.fullmatch(r"CU\d{7}").all()
    assert contacts["customer_id"].value_counts().iloc[0] > 5  # repeat callers
    assert set(contacts["agent_id"]) - {""} == {f"A{i:03d}" for i in range(1, 31)}
    assert set(contacts["team"]) == set(TEAMS)


def test_contact_field_rules(contacts):
    ans = contacts["answered"] == "Y"
    ab = contacts[~ans]
    assert (ab["agent_id"] == "").all() and (ab["answered_at"] == "").all()
    assert ab["talk_seconds"].isna().all() and (ab["transferred"] == "").all()
    assert (ab["resolved_first_contact"] == "").all() and (ab["team"] != "").all()
    assert (ab["channel"] != "email").all()
    assert (ab["wait_seconds"] < 5).sum() > 100  # some very short abandons
    a = contacts[ans]
    answered_at = pd.to_datetime(a["answered_at"])
    assert (answered_at - a["arrived"]).dt.total_seconds().eq(a["wait_seconds"]).all()
    assert 0.55 <= (a["hold_seconds"] == 0).mean() <= 0.65
    assert 0.06 <= (a["transferred"] == "Y").mean() <= 0.10
    known = a["resolved_first_contact"] != ""
    assert 0.87 <= known.mean() <= 0.93
    assert 0.70 <= (a.loc[known, "resolved_first_contact"] == "Y").mean() <= 0.80
    share = contacts["channel"].value_counts(normalize=True)
    assert abs(share["phone"] - 0.70) < 0.02 and abs(share["email"] - 0.10) < 0.02


def test_phone_service_level(contacts):
    phone = contacts[contacts["channel"] == "phone"]
    sl = ((phone["answered"] == "Y") & (phone["wait_seconds"] <= 20)).mean()
    assert 0.75 <= sl <= 0.85
    week = phone["arrived"].dt.strftime("%G-W%V")
    weekly = ((phone["answered"] == "Y") & (phone["wait_seconds"] <= 20)).groupby(week).mean()
    assert weekly.min() < 0.70  # some bad weeks
    assert week.max() == "2026-W47"


def test_tech_team_weak_on_satisfaction(contacts, surveys):
    s = surveys.merge(contacts[["contact_id", "team", "agent_id"]], on="contact_id",
                      how="left", suffixes=("", "_contact"))
    assert s["team_contact"].notna().all()  # every survey links to a contact
    filled = s["team"] != ""
    assert 0.15 <= filled.mean() <= 0.25
    assert (s.loc[filled, "team"] == s.loc[filled, "team_contact"]).all()
    share = (s["csat"].astype(int) >= 4).groupby(s["team_contact"]).mean()
    assert 0.62 <= share[TECH] <= 0.72
    for team in TEAMS:
        if team != TECH:
            assert 0.80 <= share[team] <= 0.90
            assert share[TECH] < share[team] - 0.1
    assert pd.to_datetime(surveys["responded_at"]).max() <= pd.Timestamp("2026-11-22 23:59:59")
    assert 0.25 <= (surveys["ces"] == "").mean() <= 0.35
    assert 0.65 <= (surveys["comment"] == "").mean() <= 0.75
    pii = surveys["comment"].str.contains(r"09\d{2}-?\d{3}-?\d{3}|@|[A-Z][12]\d{8}")
    assert 5 <= pii.sum() <= 200


def test_slow_agent_a017(contacts):
    a = contacts[contacts["answered"] == "Y"]
    aht = a["talk_seconds"] + a["hold_seconds"] + a["acw_seconds"]
    by_agent = aht.groupby(a["agent_id"]).mean()
    assert by_agent.idxmax() == "A017"
    tech_others = aht[(a["team"] == TECH) & (a["agent_id"] != "A017")].mean()
    assert 1.45 <= by_agent["A017"] / tech_others <= 1.75


def test_complaints(complaints):
    assert complaints["案件編號"].is_unique
    assert complaints["案件編號"].str.fullmatch(r"CP\d{9}").all()
    assert complaints["開案日期"].str.fullmatch(r"1\d\d/\d\d/\d\d").all()
    assert complaints["開案日期"].min() >= "114/09/01"
    assert complaints["開案日期"].max() <= "115/11/22"
    assert set(complaints["管道"]) == {"電話", "線上文字", "電子郵件"}
    sla = complaints.groupby("優先等級")["處理時限(小時)"].unique()
    assert {k: list(v) for k, v in sla.items()} == {"高": ["24"], "中": ["72"], "低": ["120"]}
    rate = complaints["負責組別"].value_counts()
    assert rate[TECH] == rate.max()
    still_open = complaints["結案日期"] == ""
    assert (still_open == (complaints["結案時間"] == "")).all()
    assert 5 <= still_open.sum() <= 100
    top3 = complaints["類別"].value_counts(normalize=True).iloc[:3].sum()
    assert top3 > 0.6  # Pareto-like
    assert 0.05 <= (complaints["是否升級"] == "是").mean() <= 0.15


def test_budget_layout_and_overtime(budget):
    months = [f"2025-{m:02d}" for m in range(9, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    assert list(budget.columns) == ["成本中心", "科目", "類型", "項目", *months]
    assert set(budget["項目"]) == {"預算", "實際"}
    assert set(budget["類型"]) == {"成本", "收入"}
    actual = budget[budget["項目"] == "實際"]
    assert actual[["2026-11", "2026-12"]].isna().all().all()
    assert actual[months[:-2]].notna().all().all()
    ot = budget[budget["科目"] == "加班費"].set_index("項目")
    closed_2026 = [m for m in months if "2026-01" <= m <= "2026-10"]
    assert ot.loc["實際", closed_2026].sum() > 1.3 * ot.loc["預算", closed_2026].sum()
    assert (ot.loc["實際", closed_2026] > ot.loc["預算", closed_2026]).all()
    wages = budget[(budget["科目"] == "人員薪資") & (budget["項目"] == "預算")]
    assert 1_300_000 <= wages["2026-01"].iloc[0] <= 1_800_000


def test_mappings_and_manifest():
    manifest = yaml.safe_load((SAMPLE / "manifest.yaml").read_text(encoding="utf-8"))
    assert [m["dataset"] for m in manifest] == ["contacts", "surveys", "complaints", "budget", "agent_states", "schedule"]
    for m in manifest:
        assert (SAMPLE / m["file"]).is_file()
        if "mapping" in m:
            mapping = yaml.safe_load((SAMPLE / m["mapping"]).read_text(encoding="utf-8"))
            assert mapping["dataset"] == m["dataset"]
    cm = yaml.safe_load((SAMPLE / "complaints.mapping.yaml").read_text(encoding="utf-8"))
    assert cm["columns"]["opened_at"] == ["開案日期", "開案時間"]
    assert cm["options"]["values"]["channel"] == {"電話": "phone", "線上文字": "chat",
                                                  "電子郵件": "email"}


def test_generator_reproduces_committed_files(tmp_path, monkeypatch):
    """The committed files are exactly the generator's default output."""
    # Its main() in this process, as `python sample_data/generate.py --out DIR` would call it: no second interpreter.
    spec = importlib.util.spec_from_file_location("sample_generate", SAMPLE / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, generate)  # its dataclasses look their module up there
    spec.loader.exec_module(generate)
    assert generate.main(["--out", str(tmp_path)]) == 0
    for name in ("contacts.csv.gz", "agent_states.csv.gz"):
        with gzip.open(tmp_path / name) as a, gzip.open(SAMPLE / name) as b:
            assert a.read() == b.read(), name
    for name in ("surveys.csv", "complaints.csv", "manifest.yaml", "schedule.csv",
                 "complaints.mapping.yaml", "budget.mapping.yaml"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_excel(tmp_path / "budget.xlsx", engine="openpyxl"),
                                  pd.read_excel(SAMPLE / "budget.xlsx", engine="openpyxl"))
