"""The coaching plan (O3.3.1 work performance record) and its CSV/xlsx export, with formula-looking text neutralised."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from kpi.competency import coaching_plan, plan_title, plan_to_csv, plan_to_xlsx
from kpi.present import frame_to_csv, frame_to_xlsx, safe_cell
from kpi.metrics import KpiValue

# csat (0.85-0.75)/0.05 = 2 bands and worse than before beyond noise: 2 x 1.5 = 3 points; csat_mean (4.2-3.9)/0.2
# = 1.5; nps (30-20)/10 = 1 (warning). One satisfaction factor: an indicator takes its worst KPI's points; score =
# points x coverage x weight (see test_competency_rank): P4.2.1 3 x 1/1 = 3, P4.3.1 3 x .5 = 1.5, P1.2.4 3 x 1/4 =
# .75, P4.3.4 1.5 x .5 = .75 (fewer weak KPIs than P1.2.4), P4.3.3 1 x .5 = .5, P4.3.2 3 x 1/9, P1.2.3 3 x 1/11.
SATISFACTION = {
    "csat": KpiValue("csat", 0.75, 0.85, "bad", 0.80, -0.05, trend="worse"),  # worse beyond noise
    "csat_mean": KpiValue("csat_mean", 3.9, 4.2, "bad", None, None),
    "nps": KpiValue("nps", 20, 30, "warning", None, None),
}
P421_ZH = "依組織政策，建立並保持與客戶的關係，以確保服務品質。"
FORMULAS = ['=HYPERLINK("http://x.example","click")', "-1+2", "+SUM(A1)", "@cmd", "＝1+1", "\t=1"]




@pytest.fixture(scope="module")
def plan(cmap, catalog) -> pd.DataFrame:
    return coaching_plan(cmap, "技術支援組", "2026-W47", SATISFACTION, catalog=catalog)


# --------------------------------------------------------------------------- the plan


def test_plan_lists_the_top_indicators_with_their_full_zh_text(plan):
    assert list(plan.columns) == ["對象", "期間", "優先順序", "工作任務", "行為指標代碼", "行為指標", "分數",
                                  "最大差距（警示區間）", "需加強的 KPI（與目標或所屬組別比較）", "知識", "技能", "輔導行動",
                                  "負責人", "期限", "追蹤結果"]
    assert list(plan["行為指標代碼"]) == ["P4.2.1", "P4.3.1", "P1.2.4", "P4.3.4", "P4.3.3"]  # top 5 of 7
    assert list(plan["分數"]) == pytest.approx([3.0, 1.5, 0.75, 0.75, 0.5])
    top = plan.iloc[0]
    assert (top["對象"], top["期間"], top["優先順序"]) == ("技術支援組", "2026-W47", 1)
    assert top["行為指標"] == P421_ZH
    assert top["工作任務"] == "T4.2 維護客戶關係與提升服務附加價值"
    # csat got worse: 2 x 1.5 = 3 points, the satisfaction factor's worst; P4.2.1 = 3 x 1/1
    assert top["分數"] == pytest.approx(3.0)
    assert top["最大差距（警示區間）"] == pytest.approx(2.0)
    assert top["需加強的 KPI（與目標或所屬組別比較）"].splitlines() == [
        "顧客滿意度：75.0%（比目標 85.0% 低 10.0 個百分點，較前期惡化）",  # in the KPI's unit, not in bands
        "淨推薦值：+20（比目標 +30 低 10）",
    ]
    p431 = plan.iloc[1]
    assert p431["需加強的 KPI（與目標或所屬組別比較）"].splitlines()[1] == "平均滿意度：3.90 分（比目標 4.20 分低 0.30 分）"
    assert top["知識"].splitlines() == ["K04 客戶服務關係提升知識", "K05 客戶回饋整合", "K19 公共關係和產品推廣",
                                        "K20 客戶服務技巧與知識"]
    assert top["技能"].splitlines() == ["S01 溝通協調能力", "S04 客戶投訴處理技巧", "S06 資訊與數據分析能力"]
    actions = top["輔導行動"].splitlines()
    assert len(actions) == 3 + 2  # csat, nps
    assert actions[0].startswith("1.【顧客滿意度】每週閱讀低分問卷")
    assert (plan[["負責人", "期限", "追蹤結果"]] == "").all().all()


def test_plan_in_english_has_english_headers_labels_and_text(cmap, catalog):
    plan = coaching_plan(cmap, "Tech support", "2026-W47", SATISFACTION, lang="en", catalog=catalog, top=None)
    assert len(plan) == 7
    assert {"Owner", "Due date", "Follow-up", "Behaviour indicator"} <= set(plan.columns)
    top = plan.iloc[0]
    assert top["Behaviour indicator"] == cmap.indicator("P4.2.1").text.en
    assert top["KPIs to improve (against the target or the team)"].splitlines()[0] == (
        "CSAT: 75.0% (10.0 pp below the target of 85.0%, worse than the previous period)")
    assert top["Knowledge"].splitlines()[1] == "K05 Integration of customer feedback"
    assert plan.attrs["title"] == plan_title(cmap, "Tech support", "2026-W47", "en")


def test_plan_with_nothing_weak_is_empty_with_its_headers(cmap, catalog):
    good = {"csat": KpiValue("csat", 0.9, 0.85, "good", None, None)}
    plan = coaching_plan(cmap, "會員服務組", "2026-W47", good, catalog=catalog)
    assert plan.empty and "追蹤結果" in plan.columns


def test_plan_title_names_who_period_standard_and_output(cmap):
    title = plan_title(cmap, "技術支援組", "2026-W47")
    for part in ("技術支援組", "2026-W47", "BAS1499-003v4", "O3.3.1", "工作績效紀錄"):
        assert part in title


# --------------------------------------------------------------------------- CSV


def test_csv_starts_with_a_bom_and_reads_back(plan):
    data = plan_to_csv(plan)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)
    assert list(back.columns) == list(plan.columns)
    assert list(back["行為指標"]) == list(plan["行為指標"])
    assert list(back["輔導行動"]) == list(plan["輔導行動"])  # multi-line cells survive
    assert list(back["優先順序"]) == [1, 2, 3, 4, 5]
    assert back["分數"].tolist() == pytest.approx(plan["分數"].tolist())


# --------------------------------------------------------------------------- xlsx


def test_xlsx_has_a_title_row_a_bold_header_and_numbers_as_numbers(plan):
    ws = load_workbook(io.BytesIO(plan_to_xlsx(plan, plan.attrs["title"]))).active
    title = ws["A1"].value
    for part in ("技術支援組", "2026-W47", "BAS1499-003v4", "O3.3.1"):
        assert part in title
    header = [c.value for c in ws[2]]
    assert header == list(plan.columns)
    assert all(c.font.bold for c in ws[2])
    first = {h: c for h, c in zip(header, ws[3])}
    assert first["優先順序"].value == 1 and first["優先順序"].data_type == "n"
    assert first["分數"].value == pytest.approx(3.0) and first["分數"].data_type == "n"
    assert first["行為指標"].value == P421_ZH
    assert first["行為指標"].alignment.wrap_text
    assert first["負責人"].value is None  # left blank to fill in
    assert ws.max_row == 2 + len(plan)
    assert 8 <= ws.column_dimensions["F"].width <= 60


def test_xlsx_title_defaults_to_the_plans(plan):
    ws = load_workbook(io.BytesIO(plan_to_xlsx(plan))).active
    assert ws["A1"].value == plan.attrs["title"]


# --------------------------------------------------------------------------- neutralising formulas


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("＝1", "'＝1"), ("plain text", "plain text"), ("a=b", "a=b"), ("", ""),
    (-0.05, -0.05), (3, 3), (None, None), (True, True),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def formula_frame() -> pd.DataFrame:
    return pd.DataFrame({"text": FORMULAS, "number": [-0.05, -1, 2.5, 0, 7, -3]})


def test_csv_neutralises_formulas_and_keeps_numbers():
    back = pd.read_csv(io.BytesIO(frame_to_csv(formula_frame())), encoding="utf-8-sig", keep_default_na=False)
    assert list(back["text"]) == ["'" + f for f in FORMULAS]
    assert back["number"].tolist() == [-0.05, -1, 2.5, 0, 7, -3]
    assert back["number"].dtype.kind == "f"


def test_xlsx_neutralises_formulas_and_keeps_numbers():
    ws = load_workbook(io.BytesIO(frame_to_xlsx(formula_frame(), "=title"))).active
    assert ws["A1"].value == "=title" and ws["A1"].data_type == "s" and ws["A1"].quotePrefix
    texts = [ws.cell(row=r, column=1) for r in range(3, 3 + len(FORMULAS))]
    numbers = [ws.cell(row=r, column=2) for r in range(3, 3 + len(FORMULAS))]
    # the text as written, marked as text by Excel's quote prefix (the cell's style, not a ' in the value)
    assert [c.value for c in texts] == FORMULAS and all(c.quotePrefix for c in texts)
    assert {c.data_type for c in texts} == {"s"}  # no cell is stored as a formula
    assert [c.value for c in numbers] == [-0.05, -1, 2.5, 0, 7, -3]
    assert {c.data_type for c in numbers} == {"n"}


def test_a_formula_in_who_is_neutralised_in_both_exports(cmap, catalog):
    who = '=HYPERLINK("http://x.example","y")'
    plan = coaching_plan(cmap, who, "-1+2", SATISFACTION, catalog=catalog)
    back = pd.read_csv(io.BytesIO(plan_to_csv(plan)), encoding="utf-8-sig", keep_default_na=False)
    assert set(back["對象"]) == {"'" + who}
    assert set(back["期間"]) == {"'-1+2"}
    ws = load_workbook(io.BytesIO(plan_to_xlsx(plan))).active
    assert ws["A3"].value == who and ws["A3"].data_type == "s" and ws["A3"].quotePrefix
    assert ws["B3"].value == "-1+2" and ws["B3"].quotePrefix
