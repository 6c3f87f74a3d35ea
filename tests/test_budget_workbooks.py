"""Budget workbooks as finance keeps them (issue 14 item 5): month headers without a year, title rows, a sheet per cost
center, merged cells, subtotal and total rows, amounts in 千元 or 萬元, budget and actual side by side. Every workbook
is built here with openpyxl; the amounts are worked out by hand beside each assertion."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import rows
from helpers import workbook as book
from kpi import cli, imports

MONTHS = [f"{m}月" for m in range(1, 13)]


def finance_workbook(path: Path) -> Path:
    """Two cost-center sheets, each under a title row that gives the year and the unit (千元), with a total row."""
    return book(path, {
        "營運部": [["2026年度預算（單位：千元）"], [],
                   ["科目", *MONTHS],
                   ["人員薪資", *[1234] * 12],
                   ["電信費", *[56] * 12],
                   ["合計", *[1290] * 12]],  # 1,234 + 56
        "管理部": [["FY2026 Budget (NT$ thousands)"],
                   ["科目", *MONTHS],
                   ["主管薪資", *[432] * 12],
                   ["軟體授權", *["1,118"] * 12],  # a thousands separator in a text cell
                   ["合計", *[1550] * 12]],  # 432 + 1,118
    }, merged={"營運部": ["A1:M1"], "管理部": ["A1:M1"]})


def test_a_finance_workbook_of_two_cost_center_sheets_imports_with_no_mapping(db, tmp_path):
    result = imports.import_file("budget", finance_workbook(tmp_path / "預算.xlsx"), db=db)
    # 3 sheet rows per sheet (2 lines and the total); 2 lines x 12 months per sheet land; the totals add up
    assert (result.rows_read, result.inserted, result.rejected, len(result.warnings)) == (6, 48, 0, 0)
    # 1,234 千元 = NT$1,234,000; the sheet's name is the cost center; the title's year the months'
    assert rows(db, "SELECT cost_center, line, count(*), min(period)::VARCHAR, max(period)::VARCHAR, min(budget), "
                    "max(budget), count(actual) FROM budget GROUP BY ALL ORDER BY ALL") == [
        ("營運部", "人員薪資", 12, "2026-01-01", "2026-12-01", 1_234_000.0, 1_234_000.0, 0),
        ("營運部", "電信費", 12, "2026-01-01", "2026-12-01", 56_000.0, 56_000.0, 0),
        ("管理部", "主管薪資", 12, "2026-01-01", "2026-12-01", 432_000.0, 432_000.0, 0),
        ("管理部", "軟體授權", 12, "2026-01-01", "2026-12-01", 1_118_000.0, 1_118_000.0, 0)]


def test_the_command_line_imports_it_with_no_mapping(db, tmp_path, capsys):
    code = cli.main(["ingest", "budget", str(finance_workbook(tmp_path / "預算.xlsx")), "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 0 and "read 6, inserted 48, updated 0, unchanged 0, rejected 0" in out
    assert rows(db, "SELECT sum(budget) FROM budget WHERE period = '2026-03-01'") == [(2_840_000.0,)]  # 1,290 + 1,550 千元


def test_merged_cost_centers_subtotals_and_a_total_that_does_not_add_up(db, tmp_path):
    # One sheet, cost centers in a merged column; 小計 per cost center and a 總計; amounts in 萬元 with negatives in
    # parentheses. March's 總計 says 500 where its lines add up to 480: a warning naming the sheet, row and both amounts.
    path = book(tmp_path / "b.xlsx", {
        "114年度": [["客服中心 115年度 預算表", None, "單位：萬元"],
                    ["成本中心", "科目", "1月", "2月", "3月"],
                    ["客服一組", "人員薪資", 300, 300, 300],
                    [None, "退費沖銷", "(20)", "(20)", "(20)"],
                    [None, "小計", 280, 280, 280],
                    ["客服二組", "人員薪資", 200, 200, 200],
                    [None, "小計", 200, 200, 200],
                    ["總計", None, 480, 480, 500]],
    }, merged={"114年度": ["A3:A5", "A6:A7"]})
    result = imports.import_file("budget", path, db=db)
    # the title's ROC year 115 (= 2026) comes before the sheet's name (114)
    assert (result.rows_read, result.inserted, result.rejected) == (6, 9, 0)
    assert rows(db, "SELECT cost_center, line, period::VARCHAR, budget FROM budget WHERE period = '2026-03-01' "
                    "ORDER BY ALL") == [("客服一組", "人員薪資", "2026-03-01", 3_000_000.0),
                                       ("客服一組", "退費沖銷", "2026-03-01", -200_000.0),
                                       ("客服二組", "人員薪資", "2026-03-01", 2_000_000.0)]
    w = result.warnings
    assert w[["row_number", "column_name", "reason_code"]].values.tolist() == [[8, "2026-03", "total_mismatch"]]
    # 500 萬元 = NT$5,000,000; the lines: 300 - 20 + 200 = 480 萬元
    assert w.reason[0] == ("total row '總計' does not match the lines it covers: 2026-03 budget says NT$5,000,000, "
                           "the lines add up to NT$4,800,000 (total rows are not imported; the lines are: check them)")
    shown = imports.readable_rejects(w, "zh-TW", ("row_number", "column_name", "reason"))
    assert shown.iloc[0, 2].startswith("合計列「總計」與其涵蓋的各科目加總不符：2026-03 預算合計列為 NT$5,000,000，各科目加總為 NT$4,800,000")


@pytest.mark.parametrize("title, sheet, options, first", [
    ("2026年度預算", "Sheet1", {}, "2026-01-01"),
    ("FY2025 Budget", "Sheet1", {}, "2025-01-01"),
    ("民國114年 費用預算", "Sheet1", {}, "2025-01-01"),
    ("製表日期：2026/01/15", "2027預算", {}, "2027-01-01"),  # a date is no budget year: the sheet's name gives it
    ("2026年度預算", "2025", {"year": 2030}, "2030-01-01"),  # the option before the title and the sheet's name
])
def test_the_year_of_month_headers_comes_from_the_option_a_title_or_the_sheet_name(db, tmp_path, title, sheet, options,
                                                                                      first):
    path = book(tmp_path / "b.xlsx", {sheet: [[title], ["科目", "Jan", "Feb", "Mar"], ["電信費", 1, 2, 3]]})
    mapping = imports.parse_mapping({"dataset": "budget", "options": options}) if options else None
    imports.import_file("budget", path, mapping, db=db)
    assert rows(db, "SELECT min(period)::VARCHAR, sum(budget) FROM budget") == [(first, 6.0)]


def test_months_without_any_year_are_a_fatal_error_naming_the_option(db, tmp_path):
    path = book(tmp_path / "b.xlsx", {"營運部": [["費用預算"], ["科目", "一月", "二月"], ["電信費", 1, 2]]})
    with pytest.raises(imports.FatalImportError) as err:
        imports.import_file("budget", path, db=db)
    assert str(err.value) == ("b.xlsx: the month columns (一月, 二月, ...) of sheet '營運部' have no year, and neither a "
                              "title above them (such as 2026年度預算) nor the sheet's name gives one; set options.year "
                              "(e.g. year: 2026)")
    assert not db.exists()  # the file is read whole before the database is opened


def test_a_fiscal_year_from_july_runs_into_the_next_year(db, tmp_path):
    path = book(tmp_path / "b.xlsx", {"FY2026": [["科目", "7月", "12月", "1月", "6月"], ["電信費", 7, 12, 1, 6]]})
    imports.import_file("budget", path, db=db)
    assert rows(db, "SELECT period::VARCHAR, budget FROM budget ORDER BY period") == [
        ("2026-07-01", 7.0), ("2026-12-01", 12.0), ("2027-01-01", 1.0), ("2027-06-01", 6.0)]


@pytest.mark.parametrize("layout", ["measure column", "measure rows", "two sheets", "two header rows",
                                    "measure in the header"])
def test_budget_and_actual_side_by_side(db, tmp_path, layout):
    # The same two lines in each layout: 薪資 budget 100/100, actual 90/95; 電信 budget 10/10, actual 12 (February
    # not closed yet: empty). Title: 2026, 千元.
    title = ["2026年度 預算與實際（單位：千元）"]
    if layout == "measure column":
        sheets = {"預算與實際": [title, ["科目", "預算/實際", "1月", "2月"], ["薪資", "預算", 100, 100],
                                 ["薪資", "實際", 90, 95], ["電信", "預算", 10, 10], ["電信", "實際", 12, None]]}
    elif layout == "measure rows":
        sheets = {"預算與實際": [title, ["科目", "1月", "2月"], ["預算"], ["薪資", 100, 100], ["電信", 10, 10],
                                 ["合計", 110, 110], ["實際"], ["薪資", 90, 95], ["電信", 12, None], ["合計", 102, 95]]}
    elif layout == "two sheets":
        sheets = {"預算": [title, ["科目", "1月", "2月"], ["薪資", 100, 100], ["電信", 10, 10]],
                  "實際": [title, ["科目", "1月", "2月"], ["薪資", 90, 95], ["電信", 12, None]]}
    elif layout == "two header rows":  # 1月 merged over 預算 | 實際
        sheets = {"預算與實際": [title, ["科目", "1月", None, "2月", None], [None, "預算", "實際", "預算", "實際"],
                                 ["薪資", 100, 90, 100, 95], ["電信", 10, 12, 10, None]]}
    else:
        sheets = {"預算與實際": [title, ["科目", "1月預算", "1月實際", "2月預算", "2月實際"],
                                 ["薪資", 100, 90, 100, 95], ["電信", 10, 12, 10, None]]}
    merged = {"預算與實際": ["B2:C2", "D2:E2"]} if layout == "two header rows" else None
    result = imports.import_file("budget", book(tmp_path / "b.xlsx", sheets, merged), db=db)
    assert (result.rejected, len(result.warnings)) == (0, 0)
    assert rows(db, "SELECT cost_center, line, period::VARCHAR, budget, actual FROM budget ORDER BY line, period") == [
        ("CENTER", "薪資", "2026-01-01", 100_000.0, 90_000.0), ("CENTER", "薪資", "2026-02-01", 100_000.0, 95_000.0),
        ("CENTER", "電信", "2026-01-01", 10_000.0, 12_000.0), ("CENTER", "電信", "2026-02-01", 10_000.0, None)]


def test_summary_and_notes_sheets_are_left_out_with_a_warning(db, tmp_path):
    path = book(tmp_path / "b.xlsx", {
        "說明": [["本檔為 2026 年度預算，單位：元"]],
        "營運部": [["科目", "2026-01", "2026-02"], ["電信費", 100, 100]],
        "管理部": [["科目", "2026-01", "2026-02"], ["電信費", 50, "abc"]],
        "彙總": [["科目", "2026-01", "2026-02"], ["電信費", 150, 150]],
    })
    result = imports.import_file("budget", path, db=db)
    # the summary would count every line twice; the notes sheet has no header row
    assert result.warnings[["sheet", "reason_code"]].values.tolist() == [["說明", "sheet_no_header"],
                                                                         ["彙總", "sheet_summary"]]
    assert result.warnings.reason.tolist()[1] == "sheet '彙總' sums up the other sheets: not imported (its lines are in them)"
    # a rejected row names its sheet: two sheets were read; the whole sheet row is rejected
    assert result.rejects[["sheet", "row_number", "column_name", "reason_code"]].values.tolist() == [
        ["管理部", 2, "2026-02", "unreadable_amount"]]
    assert rows(db, "SELECT cost_center, sum(budget) FROM budget GROUP BY ALL") == [("營運部", 200.0)]
    assert rows(db, "SELECT file_name, row_number FROM rejected_rows") == [("b.xlsx [管理部]", 2)]
    shown = imports.readable_rejects(result.rejects, "zh-TW", ("sheet", "row_number", "reason"))
    assert shown.columns.tolist() == ["工作表", "列號", "原因"] and shown.iloc[0, 0] == "管理部"


def test_the_sheets_option_names_the_sheets_and_a_sheet_named_by_a_number(db, tmp_path):
    path = book(tmp_path / "b.xlsx", {
        "2025": [["科目", "1月", "2月"], ["電信費", 1, 2]],
        "2026": [["科目", "1月", "2月"], ["電信費", 10, 20]],
    })
    m = tmp_path / "m.yaml"
    m.write_text("dataset: budget\noptions: {sheets: [2026]}\n", encoding="utf-8")  # YAML reads 2026 as a number
    imports.import_file("budget", path, m, db=db)
    assert rows(db, "SELECT period::VARCHAR, budget FROM budget ORDER BY 1") == [("2026-01-01", 10.0),
                                                                               ("2026-02-01", 20.0)]


def test_the_amount_unit_option_overrides_what_the_sheet_says(db, tmp_path):
    path = book(tmp_path / "b.xlsx", {"2026": [["單位：千元"], ["科目", "1月", "2月"], ["電信費", 1.5, 2]]})
    m = imports.parse_mapping({"dataset": "budget", "options": {"amount_unit": "ten_thousand"}})
    imports.import_file("budget", path, m, db=db)
    assert rows(db, "SELECT budget FROM budget ORDER BY period") == [(15_000.0,), (20_000.0,)]


@pytest.mark.parametrize("options, message", [
    ({"sheet": 0, "sheets": "all"}, "options.sheets: give sheet (one sheet) or sheets (several), not both"),
    ({"sheets": "some"}, "options.sheets: expected all, or a list of sheet names or numbers counted from 0, got 'some'"),
    ({"year": "2026"}, "options.year: expected a year such as 2026, got '2026'"),
    ({"year": 115}, "options.year: expected a year such as 2026, got a number (115)"),
    ({"amount_unit": "k"}, "options.amount_unit: expected one of one, thousand, ten_thousand, million, got 'k'"),
])
def test_the_workbook_options_are_checked(options, message):
    with pytest.raises(imports.FatalImportError) as err:
        imports.parse_mapping({"dataset": "budget", "options": options}, "m.yaml")
    assert str(err.value) == f"m.yaml: {message}"


def test_a_title_row_above_a_contacts_sheet_is_skipped(db, tmp_path):
    # the header row is the first that holds two known header words, whatever the dataset
    path = book(tmp_path / "c.xlsx", {"calls": [["Call log, 2026-11-16 to 2026-11-22"], ["Filter: all queues"], [],
                                                ["contact_id", "arrived_at", "wait_seconds"],
                                                ["x1", "2026-11-16 09:00:05", 12]]})
    result = imports.import_file("contacts", path, db=db)
    assert result.inserted == 1 and rows(db, "SELECT contact_id, wait_seconds FROM contacts") == [("x1", 12.0)]


def test_month_headers_are_recognised_with_or_without_their_year():
    assert all(map(imports.is_month_header, ["1月", "01月份", "一月", "十二月", "Jan", "January", "M01", "1月預算",
                                             "Jan Actual", "1月(千元)", "2026-01", "2026年1月實際", "Nov-26"]))
    assert not any(map(imports.is_month_header, ["科目", "月", "13月", "預算", "合計", "M13"]))


def test_the_command_line_prints_each_warning_with_its_sheet_and_row(db, tmp_path, capsys):
    path = book(tmp_path / "b.xlsx", {
        "營運部": [["2026年度預算（單位：千元）"], ["科目", "1月", "2月"], ["薪資", 10, 10], ["合計", 10, 11]],
        "管理部": [["2026年度預算（單位：千元）"], ["科目", "1月", "2月"], ["薪資", 5, 5]],
        "說明": [["請勿更改格式"]],
    })
    assert cli.main(["ingest", "budget", str(path), "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "  warning: sheet '說明' has no header row (months or column names): not imported; list it in options.sheets to "
        "import it",
        "  warning: sheet '營運部', row 4, 2026-02: total row '合計' does not match the lines it covers: 2026-02 budget "
        "says NT$11,000, the lines add up to NT$10,000 (total rows are not imported; the lines are: check them)"]
    # the import keeps its warnings
    kept = rows(db, "SELECT json_extract(options, '$.warnings[1]')::VARCHAR FROM imports")[0][0]
    assert '"row":4,"sheet":"營運部","column":"2026-02","code":"total_mismatch"' in kept.replace(" ", "")


def test_a_csv_saved_from_a_finance_sheet_reads_its_title_lines(db, write):
    # Excel pads the title line with separators; the year and the unit come from it; 1,234 千元 is NT$1,234,000
    f = write("預算.csv", "2026年度預算（單位：千元）,,,\n,,,\n科目,1月,2月,3月\n人員薪資,\"1,234\",1234,(10)\n"
                        "合計,1234,1234,(10)\n")
    result = imports.import_file("budget", f, db=db)
    assert (result.rows_read, result.inserted, result.rejected, len(result.warnings)) == (2, 3, 0, 0)
    assert rows(db, "SELECT period::VARCHAR, budget FROM budget ORDER BY 1") == [
        ("2026-01-01", 1_234_000.0), ("2026-02-01", 1_234_000.0), ("2026-03-01", -10_000.0)]
    # no title: the year must be given
    with pytest.raises(imports.FatalImportError, match=r"^b\.csv: the month columns \(1月, 2月, \.\.\.\) have no year, "
                                                       r"and no title line above them gives one .*set options\.year"):
        imports.import_file("budget", write("b.csv", "科目,1月,2月\n薪資,1,2\n"), db=db)


def test_a_contacts_export_with_report_title_and_filter_lines_above_its_header(db, write):
    # a vendor's report: two title/filter lines, then the header in line 3; a bad row is named by its line (5)
    f = write("calls.csv", "Call Log Report\nDate range: 2026-11-16 - 2026-11-22,Skill: All\n"
                           "contact_id,arrived_at,wait_seconds\nx1,2026-11-16 09:00:05,12\nx2,2026-11-16 09:01,-3\n")
    result = imports.import_file("contacts", f, db=db)
    assert result.inserted == 1 and result.rejects[["row_number", "reason_code"]].values.tolist() == [
        [5, "negative_duration"]]


def test_two_blocks_of_the_same_months_are_not_a_year_from_july(db, tmp_path):
    # 1月 2月 1月 2月 under one header row: the second block is no 2027; each line's repeat is a duplicate line
    path = book(tmp_path / "b.xlsx", {"2026": [["科目", "1月", "2月", "1月", "2月"], ["薪資", 1, 2, 3, 4]]})
    result = imports.import_file("budget", path, db=db)
    assert result.rejects.reason_code.unique().tolist() == ["duplicate_budget_line"]
    assert rows(db, "SELECT count(*), min(period)::VARCHAR, max(period)::VARCHAR FROM budget") == [
        (0, None, None)]
