"""Tests for competency_map.yaml and kpi.competency: faithful to the standard's text, consistent, fully linked."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from kpi.competency import (
    DEFAULT_PATH,
    CompetencyMap,
    CompetencyMapError,
    Indicator,
    Text,
    indicators_for_kpi,
    knowledge_for_kpi,
    load_competency_map,
    skills_for_kpi,
    tasks_for_kpi,
    text,
)

ROOT = Path(__file__).resolve().parent.parent
MAP_PATH = ROOT / "competency_map.yaml"
REFERENCE = Path(os.environ.get(
    "COMPETENCY_REFERENCE",
    "/work/shared/reference/BAS1499-003v4_customer_service_manager.zh-TW.txt",
))

KPI_IDS: dict[str, list[str]] = {
    "contacts": ["offered", "answered", "abandoned", "short_abandoned", "service_level", "abandon_rate",
                 "asa_seconds", "aht_seconds", "talk_seconds_mean", "hold_seconds_mean", "acw_seconds_mean",
                 "transfer_rate", "fcr_rate", "response_within_target_rate", "unanswered_backlog", "outbound"],
    "surveys": ["survey_responses", "csat", "csat_mean", "nps", "ces_mean"],
    "complaints": ["complaints", "complaints_per_1000", "complaint_resolution_rate", "complaints_resolved_within_days",
                   "complaint_sla_rate",
                   "median_resolution_hours", "reopen_rate", "escalation_rate", "open_complaints",
                   "open_complaints_past_due"],
    "budget": ["budget", "actual", "variance", "variance_pct", "full_year_budget", "latest_estimate",
               "run_rate", "cost_per_contact", "flexed_budget", "volume_variance", "efficiency_variance",
               "rate_variance"],
}
ALL_KPIS = [k for ids in KPI_IDS.values() for k in ids]
SATISFACTION = ["csat", "csat_mean", "nps", "ces_mean", "survey_responses"]
OPERATIONS = ["service_level", "asa_seconds", "abandoned", "abandon_rate", "aht_seconds"]


@pytest.fixture(scope="module")
def cmap() -> CompetencyMap:
    return load_competency_map(kpi_ids=ALL_KPIS)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(MAP_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the reference text

TABLE_HEADER = re.compile(r"^主要職責\t工作任務\t工作產出\t行為指標\t")


def _reference_rows() -> list[list[str]]:
    """The competency table's rows (tab-separated cells), without the header repeated at each page break."""
    if not REFERENCE.exists():
        pytest.skip(f"reference text not available at {REFERENCE}")
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if TABLE_HEADER.match(l))
    end = next(i for i, l in enumerate(lines) if l.startswith("職能內涵 (A=attitude"))
    return [l.split("\t") for l in lines[start:end] if l.strip() and not TABLE_HEADER.match(l)]


def _joined_indicator_column() -> str:
    """All behaviour-indicator cells in order, a cell continuing a page-broken indicator glued on directly."""
    out = ""
    for cells in _reference_rows():
        cell = cells[3].strip() if len(cells) > 3 else ""
        if not cell:
            continue
        out += (" " if out and re.match(r"P\d\.\d\.\d", cell) else "") + cell
    return out


def _reference_indicators() -> dict[str, str]:
    """Indicator code -> text, parsed from the joined indicator column."""
    column = _joined_indicator_column()
    parts = re.split(r"(?:^|\s)(P\d\.\d\.\d)", column)
    return {code: body.strip() for code, body in zip(parts[1::2], parts[2::2])}


def _reference_task_codes() -> dict[str, dict[str, set[str]]]:
    """Task -> {'O': outputs, 'K': knowledge, 'S': skills} as the table rows give them.

    A row belongs to the task of the first indicator it starts (so the row of T4.2, whose task cell is
    empty in the extraction, is still attributed), otherwise to the task of the row before.
    """
    tasks: dict[str, dict[str, set[str]]] = {}
    current = None
    for cells in _reference_rows():
        cells = cells + [""] * (7 - len(cells))
        m = re.match(r"(T\d\.\d)", cells[1]) or re.search(r"P(\d\.\d)\.\d", cells[3])
        if m:
            current = m.group(1) if m.group(1).startswith("T") else "T" + m.group(1)
        assert current, cells
        entry = tasks.setdefault(current, {"O": set(), "K": set(), "S": set()})
        entry["O"] |= set(re.findall(r"O\d\.\d\.\d", cells[2]))
        entry["K"] |= set(re.findall(r"K\d\d", cells[5]))
        entry["S"] |= set(re.findall(r"S\d\d", cells[6]))
    return tasks


def _reference_flat() -> str:
    """The whole reference with all whitespace removed (for name lookups like 'K05客戶回饋整合')."""
    if not REFERENCE.exists():
        pytest.skip(f"reference text not available at {REFERENCE}")
    return re.sub(r"\s+", "", REFERENCE.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- structure and counts


def test_default_path_is_repo_root_file():
    assert DEFAULT_PATH == MAP_PATH
    assert MAP_PATH.read_text(encoding="utf-8").startswith("#")


def test_counts(cmap: CompetencyMap):
    assert len(cmap.duties) == 4
    assert len(cmap.tasks) == 11
    assert len(cmap.outputs) == 6
    assert len(cmap.indicators) == 32
    assert len(cmap.knowledge) == 20
    assert len(cmap.skills) == 9
    assert len(cmap.attitudes) == 6


def test_codes_are_the_expected_ranges(cmap: CompetencyMap):
    assert [d.code for d in cmap.duties] == ["T1", "T2", "T3", "T4"]
    assert [t.code for t in cmap.tasks] == ["T1.1", "T1.2", "T1.3", "T2.1", "T2.2", "T3.1", "T3.2", "T3.3",
                                            "T4.1", "T4.2", "T4.3"]
    assert [o.code for o in cmap.outputs] == ["O1.1.1", "O1.3.1", "O2.1.1", "O2.2.1", "O3.3.1", "O4.3.1"]
    assert [k.code for k in cmap.knowledge] == [f"K{i:02d}" for i in range(1, 21)]
    assert [s.code for s in cmap.skills] == [f"S{i:02d}" for i in range(1, 10)]
    assert [a.code for a in cmap.attitudes] == [f"A{i:02d}" for i in range(1, 7)]
    per_task = {t.code: len(t.indicators) for t in cmap.tasks}
    assert per_task == {"T1.1": 2, "T1.2": 4, "T1.3": 3, "T2.1": 3, "T2.2": 3, "T3.1": 3, "T3.2": 2,
                        "T3.3": 4, "T4.1": 2, "T4.2": 2, "T4.3": 4}


def test_standard(cmap: CompetencyMap):
    s = cmap.standard
    assert (s.code, s.version, s.level) == ("BAS1499-003v4", "V4", 4)
    assert s.name == Text("客戶服務主管", "Customer Service Manager")
    assert s.updated.isoformat() == "2025-12-15"
    assert s.job_description.zh_tw == "負責客服中心營運管理，並提供分析報告給予權責部門，以確保客戶服務品質。"
    assert s.job_description.en
    assert (s.job_category.code, s.occupation.code, s.industry.code) == ("BAS", "1499", "N8209")
    assert s.occupation.name.zh_tw == "未分類其他場所服務經理人員"
    assert s.industry.name.zh_tw == "支援服務業 / 行政支援服務業"
    assert s.job_category.name.zh_tw == "企業經營管理 / 行政支援"


def test_every_task_is_level_4(cmap: CompetencyMap):
    assert {t.level for t in cmap.tasks} == {4}


def test_t42_title_is_inferred_and_only_it(cmap: CompetencyMap):
    t42 = cmap.task("T4.2")
    assert t42.title_inferred is True
    assert t42.title.zh_tw and t42.title.en and t42.title_note is not None
    assert [t.code for t in cmap.tasks if t.title_inferred] == ["T4.2"]


def test_tasks_without_outputs_have_none(cmap: CompetencyMap):
    without = {t.code for t in cmap.tasks if not t.outputs}
    assert without == {"T1.2", "T3.1", "T3.2", "T4.1", "T4.2"}
    assert cmap.task("T1.2").outputs == ()
    assert cmap.task("T3.1").outputs == ()
    assert {o.code: o.task for o in cmap.outputs} == {
        "O1.1.1": "T1.1", "O1.3.1": "T1.3", "O2.1.1": "T2.1", "O2.2.1": "T2.2", "O3.3.1": "T3.3", "O4.3.1": "T4.3"}


def test_every_text_has_both_languages(cmap: CompetencyMap):
    items = [*cmap.duties, *cmap.tasks, *cmap.outputs, *cmap.indicators, *cmap.knowledge, *cmap.skills,
             *cmap.attitudes]
    for it in items:
        for lang in ("zh-TW", "en"):
            assert it.label(lang).strip(), (it.code, lang)
    for a in cmap.attitudes:
        assert a.description.zh_tw and a.description.en
    for p in cmap.indicators:  # the English is a translation, not a copy
        assert not re.search(r"[\u4e00-\u9fff]", p.text.en), p.code


# --------------------------------------------------------------------------- faithful to the reference


def test_reference_parse_sanity():
    ref = _reference_indicators()
    assert len(ref) == 32
    assert ref["P1.2.2"].endswith("為客戶提供優質的產品與服務。")
    assert ref["P2.2.2"] == "與利益關係人溝通預算執行進度及實際綜效。"
    assert ref["P3.3.4"] == "依組織政策，對於達到與未達到服務標準、績效目標的部分，回饋給團隊成員，並協助改進。"


def test_page_broken_indicators_are_joined(cmap: CompetencyMap):
    assert cmap.indicator("P1.2.2").text.zh_tw.endswith("為客戶提供優質的產品與服務。")
    assert cmap.indicator("P2.2.2").text.zh_tw == "與利益關係人溝通預算執行進度及實際綜效。"
    assert "服務標準、績效目標" in cmap.indicator("P3.3.4").text.zh_tw


@pytest.mark.parametrize("code", [f"P{t}.{i}" for t, n in
                                  [("1.1", 2), ("1.2", 4), ("1.3", 3), ("2.1", 3), ("2.2", 3), ("3.1", 3),
                                   ("3.2", 2), ("3.3", 4), ("4.1", 2), ("4.2", 2), ("4.3", 4)]
                                  for i in range(1, n + 1)])
def test_indicator_text_is_exact(cmap: CompetencyMap, code: str):
    ref = _reference_indicators()
    zh = cmap.indicator(code).text.zh_tw
    assert zh == ref[code]
    assert (code + zh) in _joined_indicator_column()


def test_task_codes_match_the_table(cmap: CompetencyMap):
    ref = _reference_task_codes()
    assert set(ref) == {t.code for t in cmap.tasks}
    for t in cmap.tasks:
        assert set(t.outputs) == ref[t.code]["O"], t.code
        assert set(t.knowledge) == ref[t.code]["K"], t.code
        assert set(t.skills) == ref[t.code]["S"], t.code
        assert list(t.knowledge) == sorted(t.knowledge) and list(t.skills) == sorted(t.skills)


def test_names_are_exact(cmap: CompetencyMap):
    flat = _reference_flat()
    for it in [*cmap.duties, *cmap.outputs, *cmap.knowledge, *cmap.skills]:
        assert it.code + re.sub(r"\s+", "", it.name.zh_tw) in flat, it.code
    for t in cmap.tasks:
        if not t.title_inferred:
            assert t.code + t.title.zh_tw in flat, t.code
    assert "T4.2" not in flat  # really lost in the extraction: the inferred title is ours
    for a in cmap.attitudes:
        assert f"{a.code}{a.name.zh_tw}：{a.description.zh_tw}" in flat, a.code
    s = cmap.standard
    assert s.job_description.zh_tw in flat
    assert "行業別代碼" + s.industry.code in flat and "職業別代碼" + s.occupation.code in flat


def test_supplementary_details_are_exact(cmap: CompetencyMap):
    flat = _reference_flat()
    details = {k.code: k.detail for k in cmap.knowledge if k.detail}
    assert set(details) == {"K02", "K15", "K16"}
    for code, detail in details.items():
        assert f"{cmap.item(code).label()}：{detail.zh_tw}" in flat
    o211 = cmap.item("O2.1.1")
    assert f"{o211.label()}：{o211.detail.zh_tw}" in flat
    assert cmap.standard.requirements.zh_tw in flat


def test_no_stray_whitespace_in_zh(cmap: CompetencyMap):
    for p in cmap.indicators:
        assert "\n" not in p.text.zh_tw and "  " not in p.text.zh_tw
        # the only ASCII spaces are the ones the standard has around "AI"
        assert p.text.zh_tw.replace(" AI ", "AI").count(" ") == 0, p.code


# --------------------------------------------------------------------------- references resolve


def test_every_code_referenced_resolves(cmap: CompetencyMap, raw: dict):
    defined = {it["code"] for key in ("duties", "tasks", "outputs", "indicators", "knowledge", "skills",
                                      "attitudes") for it in raw[key]}
    referenced: list[str] = []
    for t in raw["tasks"]:
        referenced += [t["duty"], *t["outputs"], *t["indicators"], *t["knowledge"], *t["skills"]]
    for key in ("outputs", "indicators"):
        referenced += [it["task"] for it in raw[key]]
    for link in raw["kpi_links"].values():
        for key in ("tasks", "indicators", "knowledge", "skills", "attitudes"):
            referenced += link.get(key, [])
    assert referenced and set(referenced) <= defined
    for code in referenced:
        assert cmap.item(code).code == code


def test_tasks_and_indicators_agree(cmap: CompetencyMap):
    for t in cmap.tasks:
        assert [p.code for p in cmap.indicators if p.task == t.code] == list(t.indicators)
        assert t.code.startswith(t.duty + ".")
    used_k = {k for t in cmap.tasks for k in t.knowledge}
    used_s = {s for t in cmap.tasks for s in t.skills}
    assert used_k == {k.code for k in cmap.knowledge}
    assert used_s == {s.code for s in cmap.skills}


# --------------------------------------------------------------------------- KPI links


def test_every_kpi_is_linked_and_nothing_else(cmap: CompetencyMap):
    assert len(ALL_KPIS) == 43
    assert set(cmap.kpi_ids) == set(ALL_KPIS)


@pytest.mark.parametrize("kpi_id", ALL_KPIS)
def test_link_is_coherent(cmap: CompetencyMap, kpi_id: str):
    link = cmap.link(kpi_id)
    assert link.tasks and link.indicators and link.knowledge and link.skills
    assert 2 <= len(link.coaching) <= 3
    for c in link.coaching:
        assert re.search(r"[\u4e00-\u9fff]", c.zh_tw) and c.en and not re.search(r"[\u4e00-\u9fff]", c.en)
    assert len({c.en for c in link.coaching}) == len(link.coaching)
    tasks = [cmap.task(t) for t in link.tasks]
    for p in link.indicators:
        assert cmap.indicator(p).task in link.tasks
    for t in tasks:
        assert set(t.indicators) & set(link.indicators), (kpi_id, t.code)
    assert set(link.knowledge) <= {k for t in tasks for k in t.knowledge}
    assert set(link.skills) <= {s for t in tasks for s in t.skills}


def test_coaching_is_specific_not_shared(cmap: CompetencyMap):
    texts = [c.zh_tw for link in cmap.kpi_links for c in link.coaching]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize("kpi_id", KPI_IDS["budget"])
def test_budget_links(cmap: CompetencyMap, kpi_id: str):
    link = cmap.link(kpi_id)
    assert {"T2.1", "T2.2"} <= set(link.tasks)
    assert set(link.indicators) & {"P2.2.1", "P2.2.2", "P2.2.3"}
    assert set(link.indicators) & {"P2.1.1", "P2.1.2", "P2.1.3"}


def test_budget_links_cover_t22(cmap: CompetencyMap):
    for kpi_id in ("variance", "latest_estimate"):
        assert {"P2.2.1", "P2.2.2", "P2.2.3"} <= set(cmap.link(kpi_id).indicators)
    for kpi_id in ("variance_pct", "run_rate", "cost_per_contact"):
        assert {"P2.2.1", "P2.2.3"} <= set(cmap.link(kpi_id).indicators)


@pytest.mark.parametrize("kpi_id", SATISFACTION + KPI_IDS["complaints"])
def test_satisfaction_and_complaint_links(cmap: CompetencyMap, kpi_id: str):
    link = cmap.link(kpi_id)
    assert {"T4.3", "T1.2"} <= set(link.tasks)
    assert set(link.indicators) & {"P4.3.1", "P4.3.2", "P4.3.3", "P4.3.4"}
    assert set(link.indicators) & {"P1.2.3", "P1.2.4"}


@pytest.mark.parametrize("kpi_id", ["csat", "csat_mean", "nps"])
def test_satisfaction_scores_evidence_p431(cmap: CompetencyMap, kpi_id: str):
    assert "P4.3.1" in cmap.link(kpi_id).indicators


def test_complaint_handling_evidences_p123(cmap: CompetencyMap):
    for kpi_id in KPI_IDS["complaints"]:
        assert "P1.2.3" in cmap.link(kpi_id).indicators, kpi_id
        assert "S04" in cmap.link(kpi_id).skills or "S01" in cmap.link(kpi_id).skills, kpi_id


@pytest.mark.parametrize("kpi_id", OPERATIONS)
def test_operations_links(cmap: CompetencyMap, kpi_id: str):
    link = cmap.link(kpi_id)
    assert {"T1.2", "T3.3"} <= set(link.tasks)
    assert "P3.3.2" in link.indicators


def test_short_abandons_are_not_blamed_on_staffing(cmap: CompetencyMap):
    link = cmap.link("short_abandoned")
    assert "T1.2" in link.tasks and "P3.3.2" not in link.indicators and link.note is not None


def test_fcr_links(cmap: CompetencyMap):
    link = cmap.link("fcr_rate")
    assert {"T4.1", "T4.2"} <= set(link.tasks)
    assert set(link.indicators) & {"P4.1.1", "P4.1.2"}
    assert set(link.indicators) & {"P4.2.1", "P4.2.2"}


# --------------------------------------------------------------------------- helpers


def test_indicators_for_kpi(cmap: CompetencyMap):
    inds = indicators_for_kpi(cmap, "csat")
    assert all(isinstance(p, Indicator) for p in inds)
    assert [p.code for p in inds] == list(cmap.link("csat").indicators)
    assert inds[0].code == "P4.3.1"
    assert [t.code for t in tasks_for_kpi(cmap, "fcr_rate")][:2] == ["T4.1", "T4.2"]
    assert [k.code for k in knowledge_for_kpi(cmap, "variance")] == list(cmap.link("variance").knowledge)
    assert [s.code for s in skills_for_kpi(cmap, "variance")] == list(cmap.link("variance").skills)
    with pytest.raises(KeyError, match="no_such_kpi"):
        indicators_for_kpi(cmap, "no_such_kpi")


def test_text_and_labels(cmap: CompetencyMap):
    p = cmap.indicator("P4.3.1")
    assert text(p, "zh-TW") == "依組織政策，定期檢視顧客滿意度，以提高服務和產品品質。"
    assert text(p, "en") == p.text.en and p.label("en") == p.text.en
    assert text(cmap.task("T2.2"), "zh-TW") == "管控預算與執行績效"
    assert text(cmap.link("csat").coaching[0], "en") == cmap.link("csat").coaching[0].en
    assert text(cmap.standard, "en") == "Customer Service Manager"
    assert p.caption("zh-TW").startswith("P4.3.1 依組織政策")
    with pytest.raises(ValueError, match="language"):
        text(p, "fr")


def test_map_is_frozen(cmap: CompetencyMap):
    with pytest.raises(AttributeError):
        cmap.tasks[0].title = Text("x", "y")  # type: ignore[misc]
    assert isinstance(hash(cmap), int)


def test_kpi_catalog_check(tmp_path: Path):
    with pytest.raises(CompetencyMapError, match=r"^kpi_links: KPI 'brand_new_kpi' of the catalog has no link"):
        load_competency_map(kpi_ids=ALL_KPIS + ["brand_new_kpi"])
    with pytest.raises(CompetencyMapError, match=r"^kpi_links\.nps: KPI 'nps' is not in the KPI catalog"):
        load_competency_map(kpi_ids=[k for k in ALL_KPIS if k != "nps"])
    assert len(load_competency_map(MAP_PATH).kpi_links) == 43  # no catalog: no catalog check


# --------------------------------------------------------------------------- validation errors


def _edit(raw: dict, fn) -> dict:
    import copy
    data = copy.deepcopy(raw)
    fn(data)
    return data


def _task(data: dict, code: str) -> dict:
    return next(t for t in data["tasks"] if t["code"] == code)


BROKEN = [
    ("unknown_indicator_in_link",
     lambda d: d["kpi_links"]["csat"]["indicators"].insert(2, "P9.9.9"),
     "kpi_links.csat.indicators[2]: unknown indicator code 'P9.9.9'"),
    ("unknown_knowledge_in_task",
     lambda d: d["tasks"][3]["knowledge"].append("K99"),
     "tasks[3].knowledge[6]: unknown knowledge code 'K99'"),
    ("malformed_skill_code",
     lambda d: d["tasks"][0]["skills"].__setitem__(1, "skill-2"),
     "tasks[0].skills[1]: malformed skill code 'skill-2'"),
    ("missing_field",
     lambda d: d["indicators"][4].pop("text"),
     "indicators[4]: missing field 'text'"),
    ("missing_language",
     lambda d: d["indicators"][4]["text"].pop("en"),
     "indicators[4].text: missing field 'en'"),
    ("unknown_field",
     lambda d: d["tasks"][2].update(knowlege=["K01"]),
     "tasks[2].knowlege: unknown field"),
    ("wrong_type_level",
     lambda d: d["tasks"][5].update(level="four"),
     "tasks[5].level: expected an integer, got string"),
    ("wrong_type_list",
     lambda d: d["tasks"][1].update(skills="S01"),
     "tasks[1].skills: expected a list, got string"),
    ("wrong_type_text",
     lambda d: d["duties"][0].update(name="運營客戶服務中心"),
     "duties[0].name: expected a mapping, got string"),
    ("empty_string",
     lambda d: d["attitudes"][2]["description"].update({"zh-TW": ""}),
     "attitudes[2].description.zh-TW: must not be empty"),
    ("duplicate_task_code",
     lambda d: d["tasks"][4].update(code="T2.1"),
     "tasks[4].code: duplicate task code 'T2.1' (first at tasks[3])"),
    ("duplicate_code_in_list",
     lambda d: d["kpi_links"]["nps"]["tasks"].append("T4.3"),
     "kpi_links.nps.tasks[3]: duplicate task code 'T4.3'"),
    ("indicator_not_listed_by_its_task",
     lambda d: _task(d, "T1.2")["indicators"].remove("P1.2.2"),
     "indicators[3]: indicator 'P1.2.2' belongs to task 'T1.2' but tasks[1].indicators does not list it"),
    ("task_lists_foreign_indicator",
     lambda d: _task(d, "T1.1")["indicators"].append("P1.3.1"),
     "tasks[0].indicators[2]: indicator 'P1.3.1' belongs to task 'T1.3', not 'T1.1'"),
    ("output_not_listed_by_its_task",
     lambda d: _task(d, "T4.3").update(outputs=[]),
     "outputs[5]: output 'O4.3.1' belongs to task 'T4.3' but tasks[10].outputs does not list it"),
    ("indicator_numbered_under_other_task",
     lambda d: (d["indicators"][0].update(task="T1.2"), _task(d, "T1.1")["indicators"].remove("P1.1.1"),
                _task(d, "T1.2")["indicators"].append("P1.1.1")),
     "indicators[0].code: indicator 'P1.1.1' is not numbered under its task 'T1.2'"),
    ("unknown_duty",
     lambda d: d["tasks"][0].update(duty="T9"),
     "tasks[0].duty: unknown duty code 'T9'"),
    ("link_indicator_outside_link_tasks",
     lambda d: d["kpi_links"]["variance"]["indicators"].append("P4.3.1"),
     "kpi_links.variance.indicators[4]: indicator 'P4.3.1' belongs to task 'T4.3', which is not in "
     "kpi_links.variance.tasks"),
    ("link_task_without_indicator",
     lambda d: d["kpi_links"]["offered"]["tasks"].append("T1.1"),
     "kpi_links.offered.tasks[3]: task 'T1.1' has none of its indicators in kpi_links.offered.indicators"),
    ("link_knowledge_not_of_its_tasks",
     lambda d: d["kpi_links"]["csat"]["knowledge"].append("K07"),
     "kpi_links.csat.knowledge[3]: knowledge code 'K07' is not among the knowledge of the linked tasks"),
    ("link_unknown_attitude",
     lambda d: d["kpi_links"]["complaints"]["attitudes"].append("A07"),
     "kpi_links.complaints.attitudes[2]: unknown attitude code 'A07'"),
    ("too_many_coaching_actions",
     lambda d: d["kpi_links"]["abandoned"]["coaching"].extend(d["kpi_links"]["abandoned"]["coaching"]),
     "kpi_links.abandoned.coaching: expected 2-3 coaching actions, got 4"),
    ("malformed_kpi_id",
     lambda d: d["kpi_links"].update({"Bad-Id": d["kpi_links"]["nps"]}),
     "kpi_links: malformed KPI id 'Bad-Id'"),
    ("missing_section",
     lambda d: d.pop("attitudes"),
     "(root): missing field 'attitudes'"),
    ("bad_date",
     lambda d: d["standard"].update(updated="15/12/2025"),
     "standard.updated: expected a date YYYY-MM-DD, got '15/12/2025'"),
    ("title_note_without_inferred",
     lambda d: _task(d, "T4.2").pop("title_inferred"),
     "tasks[9].title_note: only allowed when title_inferred is true"),
]


@pytest.mark.parametrize("mutate, expected", [(m, e) for _, m, e in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_broken_map_names_the_path(tmp_path: Path, raw: dict, mutate, expected: str):
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(_edit(raw, mutate), allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CompetencyMapError) as info:
        load_competency_map(broken, kpi_ids=None)
    assert str(info.value).startswith(expected), str(info.value)
    assert info.value.file == broken and str(broken) in str(info.value)


def test_duplicate_yaml_key_is_rejected(tmp_path: Path):
    source = MAP_PATH.read_text(encoding="utf-8")
    nps_block = source[source.index("  nps:\n"):source.index("  ces_mean:\n")]
    broken = tmp_path / "dup.yaml"
    broken.write_text(source + nps_block, encoding="utf-8")
    with pytest.raises(CompetencyMapError, match=r"^kpi_links: duplicate key 'nps' \(line \d+\)"):
        load_competency_map(broken)


@pytest.mark.parametrize("content, expected", [
    ("standard: [unclosed\n", "(document): invalid YAML"),
    ("- just\n- a list\n", "(root): expected a mapping, got list"),
    ("", "(root): expected a mapping, got null"),
])
def test_unreadable_documents(tmp_path: Path, content: str, expected: str):
    f = tmp_path / "bad.yaml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(CompetencyMapError) as info:
        load_competency_map(f)
    assert str(info.value).startswith(expected)


def test_missing_file(tmp_path: Path):
    with pytest.raises(CompetencyMapError, match=r"^\(file\): cannot read"):
        load_competency_map(tmp_path / "nope.yaml")


def test_round_trip_of_the_real_file_is_valid(tmp_path: Path, raw: dict):
    """The dump used by the broken-variant tests is itself valid, so each failure is the mutation's."""
    f = tmp_path / "same.yaml"
    f.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert load_competency_map(f, kpi_ids=ALL_KPIS) == load_competency_map(kpi_ids=ALL_KPIS)


def test_no_kpi_module_imports_streamlit():
    import ast
    import kpi

    for path in Path(kpi.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "streamlit" not in imported, path


def test_staffing_measures_point_at_setting_capacity(cmap: CompetencyMap):
    from kpi import metrics

    # The staffing page's measures are not catalog KPIs: measure_links ties each to P2.1.2 (訂定產能) of task T2.1.
    linked = cmap.measures_for("P2.1.2")
    assert [m.kpi_id for m in linked] == list(metrics.STAFFING_MEASURES)
    assert all(m.tasks == ("T2.1",) and len(m.coaching) >= 2 for m in linked)
    assert cmap.measures_for("P4.3.1") == ()


def test_a_measure_link_to_no_page_measure_is_refused(tmp_path):
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace("\n  shrinkage:\n    tasks: [T2.1]",
                                                                         "\n  shrinkag:\n    tasks: [T2.1]")
    bad = tmp_path / "map.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(CompetencyMapError, match="'shrinkag' is not a page measure"):
        load_competency_map(bad)
