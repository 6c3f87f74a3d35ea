"""Guess which dataset a file holds and pre-fill its mapping from the headers alone, for the import page to show."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from . import _workbook as workbook
from ..present import messages
from ..store import BUDGET, DATASETS, Dataset, get_dataset
from ._mapping import Mapping, Options, header_key

# Header words per canonical column, most likely first; the canonical name itself is always understood.
# Kept per dataset because the same word means different things: 類型 is a budget line type but a complaint category.
_TEAM = ["team", "group", "team name", "組別", "團隊", "小組", "所屬組別", "負責組別", "部門"]
_AGENT = ["agent", "agent id", "user", "employee id", "handled by", "answered by", "agent login", "專員", "客服人員", "員工編號", "客服專員",
          "專員編號", "人員", "工號", "座席", "坐席", "接聽人員", "處理人員", "負責人"]
_CHANNEL = ["channel", "media", "media type", "管道", "渠道", "通路", "進線管道", "服務管道"]
_CONTACT = ["contact id", "call id", "interaction id", "session id", "call ref", "call reference", "reference", "來電編號", "通話編號", "進線編號", "話單編號",
            "通話序號", "來電序號", "進線序號", "聯絡編號"]

SYNONYMS: dict[str, dict[str, list[str]]] = {
    "contacts": {
        "contact_id": _CONTACT,
        "arrived_at": ["arrival time", "arrived", "start time", "call start", "call start time", "start", "date/time",
                       "datetime", "date time", "timestamp", "call date/time", "initiation timestamp", "進線時間",
                       "來電時間", "撥入時間", "開始時間", "通話開始時間", "進線日期時間", "來電日期時間"],
        "channel": _CHANNEL,
        "direction": ["direction", "call direction", "contact direction", "inbound/outbound", "聯絡方向", "通話方向",
                      "進出線", "進外撥", "撥打方向", "方向"],
        "queue": ["queue", "queue name", "skill", "skill group", "split", "佇列", "技能群組", "技能組", "技能"],
        "team": _TEAM,
        "agent_id": _AGENT,
        "agent_name": ["agent name", "agent display name", "agent full name", "user name", "full name", "專員姓名",
                       "客服人員姓名", "人員姓名", "姓名", "專員名稱"],
        "answered": ["answered", "is answered", "connected", "handled", "outcome", "call outcome", "result",
                     "call result", "disposition", "是否接通", "接通", "已接聽", "是否接聽", "通話結果", "結果"],
        "answered_at": ["answer time", "answered time", "connected to agent", "接聽時間", "應答時間"],
        "abandoned_at": ["abandon time", "abandoned time", "放棄時間", "掛斷時間"],
        "wait_seconds": ["wait", "waited", "wait time", "waiting time", "queue time", "queue duration",
                         "speed of answer", "asa", "等候時間",
                         "等待秒數", "等候秒數", "等待時間", "排隊時間", "等候"],
        "talk_seconds": ["talk", "talk time", "talk duration", "call duration", "duration", "通話時間", "通話秒數",
                         "通話時長", "談話時間"],
        "hold_seconds": ["hold", "hold time", "hold duration", "保留時間", "保留秒數", "保留"],
        "acw_seconds": ["acw", "after call work", "after contact work", "wrap", "wrap up", "wrap up time", "話後處理", "話後處理時間",
                        "話後整理", "後續處理時間", "話後秒數", "話後時間", "話後處理秒數"],
        "transferred": ["transferred", "transfer", "is transferred", "轉接", "是否轉接", "轉出"],
        "resolved_first_contact": ["fcr", "first contact resolution", "resolved first contact", "resolved",
                                   "一次解決", "首次解決", "是否一次解決", "一次完成"],
        "customer_id": ["customer", "customer id", "member id", "客戶編號", "會員編號", "客戶代號", "客戶id"],
    },
    "surveys": {
        "survey_id": ["survey id", "response id", "問卷編號", "問卷序號", "回覆編號", "調查編號"],
        "responded_at": ["response time", "responded", "submitted", "submit time", "survey time", "填答時間",
                         "回覆時間", "作答時間", "填寫時間", "調查時間"],
        "contact_id": _CONTACT,
        "team": _TEAM,
        "agent_id": _AGENT,
        "csat": ["satisfaction", "satisfaction score", "滿意度", "滿意度分數", "整體滿意度", "滿意分數"],
        "nps": ["recommend", "likelihood to recommend", "推薦分數", "推薦意願", "推薦", "淨推薦值"],
        "ces": ["effort", "customer effort", "費力度", "費力程度", "費力", "輕鬆程度"],
        "comment": ["comments", "feedback", "verbatim", "remarks", "意見", "留言", "意見內容", "建議", "備註"],
    },
    "complaints": {
        "complaint_id": ["complaint id", "case id", "ticket id", "case number", "ticket", "案件編號", "客訴編號",
                         "申訴編號", "案件號碼", "客訴單號"],
        "opened_at": ["opened", "open time", "created", "created at", "create time", "開案時間", "立案時間",
                      "受理時間", "建立時間", "反映時間", "開案"],
        "resolved_at": ["resolved", "resolved time", "closed", "closed at", "close time", "結案時間", "解決時間",
                        "完成時間", "結案"],
        "resolution_hours": ["resolution hours", "resolution time", "處理時數", "結案時數"],
        "due_at": ["due", "due date", "due time", "deadline", "到期時間", "到期日", "到期", "期限"],
        "sla_hours": ["sla", "sla hours", "處理時限", "時限", "時效"],
        "category": ["category", "type", "complaint type", "類別", "客訴類別", "案件類別", "分類", "類型"],
        "channel": _CHANNEL,
        "team": _TEAM,
        "agent_id": _AGENT,
        "priority": ["severity", "優先等級", "優先", "優先順序", "緊急程度"],
        "reopened_count": ["reopened", "reopen count", "reopens", "重開次數", "重開", "重啟次數"],
        "escalated": ["escalated", "escalation", "是否升級", "升級", "上呈"],
    },
    "budget": {
        "period": ["month", "period", "月份", "期間", "年月"],
        "cost_center": ["cost center", "cost centre", "department", "成本中心", "部門"],
        "line": ["line", "budget line", "account", "item", "科目", "預算科目", "會計科目", "費用項目", "項目"],
        "line_type": ["line type", "type", "類型", "收支", "收支別"],
        "budget": ["budget amount", "planned", "預算", "預算金額"],
        "actual": ["actual amount", "實際", "實際金額", "實際數"],
        "measure": ["measure", "預算/實際", "預實", "數據別", "項目"],
    },
    "agent_states": {
        "agent_id": _AGENT,
        "state": ["state", "status", "agent state", "agent status", "reason code", "狀態", "專員狀態", "座席狀態"],
        # No bare start/end: a call log's Start Time is a contact's arrival, not a state's start.
        "started_at": ["state start", "state start time", "status start", "狀態開始", "狀態開始時間"],
        "ended_at": ["state end", "state end time", "status end", "狀態結束", "狀態結束時間"],
        "team": _TEAM,
        "agent_name": ["agent name", "name", "專員姓名", "姓名", "客服人員姓名"],
        "channel": _CHANNEL,
    },
    "schedule": {
        "agent_id": _AGENT,
        "activity": ["activity", "scheduled activity", "activity code", "排班活動", "活動", "班別活動"],
        "starts_at": ["shift start", "activity start", "排班開始", "班別開始", "活動開始"],
        "ends_at": ["shift end", "activity end", "排班結束", "班別結束", "活動結束"],
        "team": _TEAM,
    },
    "budget_drivers": {
        "period": ["month", "period", "月份", "期間", "年月"],
        "cost_center": ["cost center", "cost centre", "department", "成本中心", "部門"],
        "line": ["line", "budget line", "account", "labour line", "labor line", "科目", "預算科目", "會計科目", "費用項目"],
        "pay": ["pay", "pay type", "hours type", "工時別", "工時類別", "薪別"],
        "budget_contacts": ["budgeted contacts", "budget contacts", "planned contacts", "forecast contacts", "預算來電量",
                            "預估來電量", "預算進線量", "預算服務量"],
        "budget_hours_per_contact": ["budgeted hours per contact", "hours per contact", "standard hours per contact",
                                     "預算每通工時", "每通工時", "每通標準工時"],
        "budget_aht_seconds": ["budgeted aht", "budget aht", "aht", "預算aht", "預算平均處理時間", "預算處理時間"],
        "budget_occupancy": ["budgeted occupancy", "occupancy", "預算占用率", "預算佔用率", "占用率", "佔用率"],
        "budget_shrinkage": ["budgeted shrinkage", "shrinkage", "預算耗損率", "耗損率", "預算缺勤率"],
        "budget_hours": ["budgeted hours", "budget hours", "budgeted paid hours", "預算工時", "預算給付工時"],
        "budget_fte": ["budgeted fte", "budget fte", "預算fte", "預算人力"],
        "budget_rate": ["budgeted rate", "budget rate", "budgeted hourly rate", "hourly rate", "預算時薪", "時薪"],
        "actual_contacts": ["actual contacts", "handled contacts", "實際來電量", "實際進線量", "實際服務量"],
        "actual_hours": ["actual hours", "actual paid hours", "實際工時", "實際給付工時"],
        "actual_fte": ["actual fte", "實際fte", "實際人力"],
    },
}

# A yes/no header that says the opposite of the column: mapped with its values swapped.
INVERSE_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "contacts": {"answered": ["abandoned", "is abandoned", "abandon", "放棄", "是否放棄", "未接通", "未接"]},
}
_SWAP_YES_NO = {"y": "N", "n": "Y", "yes": "No", "no": "Yes", "true": "FALSE", "false": "TRUE", "t": "F", "f": "T",
                "1": "0", "0": "1", "1.0": "0", "0.0": "1", "是": "否", "否": "是"}

# Words for the start of a date + time pair (通話日期 + 通話時間 -> arrived_at); an empty stem (日期 + 時間)
# belongs to the dataset's time column.
STEMS: dict[str, dict[str, list[str]]] = {
    "contacts": {"arrived_at": ["通話", "來電", "進線", "撥入", "開始", "聯絡", "call", "start", "arrival", "contact"],
                 "answered_at": ["接聽", "應答", "answer", "answered"],
                 "abandoned_at": ["放棄", "掛斷", "abandon", "abandoned"]},
    "surveys": {"responded_at": ["填答", "回覆", "作答", "填寫", "調查", "問卷", "response", "survey", "submit", "submitted"]},
    "complaints": {"opened_at": ["開案", "立案", "受理", "建立", "反映", "open", "opened", "create", "created"],
                   "resolved_at": ["結案", "解決", "完成", "close", "closed", "resolved", "resolve"],
                   "due_at": ["到期", "期限", "due"]},
}
_DATE_WORDS = ["日期", "date", "日"]
_TIME_WORDS = ["時間", "時刻", "time"]

# Stored values some columns expect, recoded from the words exports use (only applied when the column is mapped).
VALUE_WORDS: dict[str, dict[str, str]] = {
    "channel": {"電話": "phone", "語音": "phone", "voice": "phone", "線上文字": "chat", "文字客服": "chat",
                "線上客服": "chat", "聊天": "chat", "web chat": "chat", "電子郵件": "email", "e-mail": "email"},
    "line_type": {"成本": "cost", "費用": "cost", "支出": "cost", "收入": "revenue", "營收": "revenue"},
    "measure": {"預算": "budget", "實際": "actual", "實際數": "actual"},
    # An outcome column instead of a yes/no one: the words phone platforms write.
    "answered": {"answered": "Y", "connected": "Y", "handled": "Y", "completed": "Y", "abandoned": "N",
                 "missed": "N", "unanswered": "N", "已接聽": "Y", "接通": "Y", "放棄": "N", "未接": "N", "未接通": "N"},
}

# Scores: the canonical name beats a listed synonym, which beats a contained word, which beats a near spelling.
_EXACT, _CANON, _PAIR, _SYNONYM, _INVERSE, _CONTAINED, _FUZZY = 1.0, 0.98, 0.97, 0.95, 0.9, 0.8, 0.8
FUZZY_THRESHOLD = 0.8  # difflib ratio on normalised headers; below it two headers are different words
GUESS_MIN_SCORE = 0.25


def _norm(text: str, keep_brackets: bool = False) -> str:
    """A header reduced to letters and digits: NFKC, lower case, bracketed units dropped, punctuation dropped."""
    t = unicodedata.normalize("NFKC", str(text)).lower()
    if not keep_brackets:
        stripped = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", t)
        t = stripped if re.sub(r"[\W_]+", "", stripped) else t
    return re.sub(r"[\W_]+", "", t)


def _is_cjk(text: str) -> bool:
    return any(ord(ch) > 0x2E80 for ch in text)


def is_month_header(header: str) -> bool:
    """True for a header that names a month (2026-01, 115/01, 2026年1月, 1月, 一月, Jan-26, Jan, 2026-01 預算): a
    months-as-columns budget."""
    return workbook.is_month_header(header)


@dataclass(frozen=True)
class _Match:
    column: str
    headers: tuple[int, ...]  # positions in the header list
    score: float
    inverse: bool = False


_PATH_RE = re.compile(r"[^\s.]+(?:\.[^\s.]+)+")  # a JSON field's dotted path: Agent.ConnectedToAgentTimestamp


def _word_score(header: str, word: str, rank: int) -> float:
    """How well one header matches one synonym (0 when it doesn't); a dotted path (a JSON field) by its whole path,
    else by its last two names, else by its last (Queue.Duration: queue duration before duration)."""
    score = _forms_score({_norm(header), _norm(header, keep_brackets=True)}, word, rank)
    if _PATH_RE.fullmatch(header):
        names = header.split(".")
        for n, penalty in ((2, 0.01), (1, 0.02)):
            if part := _norm("".join(names[-n:])):
                score = max(score, _forms_score({part}, word, rank) - penalty)
    return score


def _forms_score(h_forms: set[str], word: str, rank: int) -> float:
    w = _norm(word)
    if not w:
        return 0.0
    if w in h_forms:
        return _SYNONYM - 0.002 * rank
    best = 0.0
    for h in h_forms:
        # A contained word must be long enough to mean something: 2 CJK characters, 4 letters.
        if len(w) >= (2 if _is_cjk(w) else 4) and w in h:
            best = max(best, _CONTAINED + 0.1 * len(w) / len(h) - 0.002 * rank)
        ratio = SequenceMatcher(None, h, w).ratio()
        if ratio >= FUZZY_THRESHOLD:
            best = max(best, _FUZZY * ratio - 0.002 * rank)
    return best


def _columns_of(ds: Dataset, wide: bool) -> list[str]:
    cols = [c.name for c in ds.columns]
    if wide:
        cols += [c.name for c in ds.extra_columns]
    return cols


def _pairs(ds: Dataset, headers: list[str], usable: list[int]) -> list[_Match]:
    """Date + time column pairs with the same stem, each offered to the timestamp column that stem names."""
    stems = STEMS.get(ds.name, {})
    if not stems:
        return []

    def split(i: int, words: list[str]) -> str | None:
        n = _norm(headers[i])
        for w in words:
            if n.endswith(w):
                return n[: -len(w)]
        return None

    dates = {i: s for i in usable if (s := split(i, _DATE_WORDS)) is not None}
    times = {i: s for i in usable if (s := split(i, _TIME_WORDS)) is not None}
    out = []
    for di, stem in dates.items():
        for ti, tstem in times.items():
            if ti == di or tstem != stem:
                continue
            for col, words in stems.items():
                if stem == "" and col == ds.time_column or stem in (_norm(w) for w in words):
                    out.append(_Match(col, (di, ti), _PAIR))
    return out


def _candidates(ds: Dataset, headers: list[str], usable: list[int], wide: bool) -> list[_Match]:
    out = _pairs(ds, headers, usable)
    synonyms = SYNONYMS[ds.name]
    stems = STEMS.get(ds.name, {})
    inverse = INVERSE_SYNONYMS.get(ds.name, {})
    shown = messages()
    for col in _columns_of(ds, wide):
        # The import page's own name for the column (field.answered_at: 接通時間 / Answered at) is understood first: a
        # file whose header is what the page calls the column was left unmapped.
        own = [shown[f"field.{col}"][lang] for lang in ("zh-TW", "en") if f"field.{col}" in shown]
        words = own + synonyms.get(col, [])
        # A timestamp column also answers to its stem + 日期/date alone (開案日期 without a time column).
        words = words + [s + d for s in stems.get(col, []) for d in ("日期", "date")]
        for i in usable:
            h = headers[i]
            if header_key(h) == header_key(col):
                out.append(_Match(col, (i,), _EXACT))
                continue
            if _norm(h) == _norm(col):  # Contact ID, contact-id
                out.append(_Match(col, (i,), _CANON))
                continue
            score = max([_word_score(h, w, r) for r, w in enumerate(words)] + [0.0])
            if score:
                out.append(_Match(col, (i,), score))
            inv = [_norm(w) for w in inverse.get(col, [])]
            if _norm(h) in inv:
                out.append(_Match(col, (i,), _INVERSE, inverse=True))
    return out


def _assign(headers: list[str], dataset: str) -> tuple[list[_Match], list[int]]:
    """The chosen matches (best first, each column and header used once) and the month headers of a wide budget."""
    ds = get_dataset(dataset)
    months = [i for i, h in enumerate(headers) if is_month_header(h)] if ds is BUDGET else []
    usable = [i for i, h in enumerate(headers) if i not in months and _norm(h, keep_brackets=True)]
    cands = _candidates(ds, headers, usable, wide=bool(months))
    # Month headers make a months-as-columns sheet, unless a period column says it is one row per month.
    wide = bool(months) and not any(m.column == "period" for m in cands)
    if not wide:
        cands = [m for m in cands if m.column != "measure"]
    order = {c: k for k, c in enumerate(_columns_of(ds, wide))}
    cands.sort(key=lambda m: (-m.score, order[m.column], m.headers))
    taken_cols: set[str] = set()
    taken_headers: set[int] = set()
    chosen = []
    for m in cands:
        if m.column in taken_cols or taken_headers.intersection(m.headers):
            continue
        chosen.append(m)
        taken_cols.add(m.column)
        taken_headers.update(m.headers)
    chosen.sort(key=lambda m: order[m.column])
    return chosen, (months if wide else [])


def suggest_mapping(headers: list[str], dataset: str) -> Mapping:
    """A mapping for these headers: each canonical column paired with its best-matching header (or date + time pair)."""
    headers = [str(h) for h in headers]
    chosen, _ = _assign(headers, dataset)
    columns = {m.column: [headers[i] for i in m.headers] for m in chosen}
    values: dict[str, dict[str, str]] = {}
    for m in chosen:
        if m.inverse:
            values[m.column] = dict(_SWAP_YES_NO)
        elif m.column in VALUE_WORDS:
            values[m.column] = dict(VALUE_WORDS[m.column])
    return Mapping(dataset=dataset, columns=columns, options=Options(values=values))


def guess_dataset(headers: list[str]) -> tuple[str | None, dict[str, float]]:
    """Which dataset a file holds, from its headers: (name or None when nothing fits, score 0-1 per dataset)."""
    headers = [str(h) for h in headers]
    real = [h for h in headers if _norm(h, keep_brackets=True) and not header_key(h).startswith("unnamed:")]
    scores: dict[str, float] = {}
    for name, ds in DATASETS.items():
        chosen, months = _assign(headers, name)
        found = {m.column for m in chosen}
        # A file must show what it is about: its id or its time (or, for budget, month columns).
        # (An agent column alone says nothing: most exports have one; the workforce data's key needs its time too.)
        anchors = (set(ds.key) | {ds.time_column}) - {"agent_id"}
        if not (found & anchors or months):
            scores[name] = 0.0
            continue
        explained = sum(m.score * len(m.headers) for m in chosen) + len(months)
        scores[name] = round(explained / max(len(real), 1), 3)
    best = max(scores, key=lambda k: scores[k])
    ranked = sorted(scores.values(), reverse=True)
    if scores[best] < GUESS_MIN_SCORE or ranked[0] == ranked[1]:
        return None, scores
    return best, scores
