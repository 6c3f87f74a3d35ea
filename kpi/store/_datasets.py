"""The datasets and their canonical columns: the one declaration that the schema, the import and the docs read."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Kinds of value a column holds; each kind has one parser in kpi.parsing and one SQL type.
SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "month": "DATE",
    "bool": "BOOLEAN",
    "duration": "DOUBLE",
    "hours": "DOUBLE",
    "int": "INTEGER",
    "amount": "DOUBLE",
    "enum": "VARCHAR",
    "number": "DOUBLE",
    "fraction": "DOUBLE",
}


# The range a number of each kind must lie in (inclusive) unless its column declares its own: durations up to 7 days
# (in seconds), hours up to 7 days, money within +/-10^13 NT$, whole numbers within the INTEGER type. A value outside
# it (inf, 1e12 s, 3,000,000,000 reopenings) is rejected on import and read as unknown (NULL) by pages and reports.
KIND_RANGES: dict[str, tuple[float, float]] = {
    "duration": (0.0, 7 * 86400.0),
    "hours": (0.0, 7 * 24.0),
    "amount": (-1e13, 1e13),
    "int": (-2.0 ** 31, 2.0 ** 31 - 1),
    "number": (0.0, 1e9),
    "fraction": (0.0, 1.0),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    meaning: str
    required: bool = False
    unit: str = ""
    lo: float | None = None  # inclusive bounds, where the column's differ from its kind's (KIND_RANGES)
    hi: float | None = None
    choices: tuple[str, ...] = ()
    # Other spellings an import reads as one of the choices: (word, choice) pairs, compared ignoring case, width,
    # spaces, hyphens and underscores (IB and 進線 are inbound).
    words: tuple[tuple[str, str], ...] = ()
    default: str | None = None
    stored: bool = True  # False: accepted on input, folded into another column before storing

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """The inclusive range of a numeric column: its own lo/hi, else its kind's; (None, None) for other kinds."""
        lo, hi = KIND_RANGES.get(self.kind, (None, None))
        return (lo if self.lo is None else self.lo), (hi if self.hi is None else self.hi)


@dataclass(frozen=True)
class Dataset:
    name: str
    label_zh: str
    key: tuple[str, ...]
    time_column: str
    columns: tuple[Column, ...]
    meaning: str
    extra_columns: tuple[Column, ...] = field(default=())

    def column(self, name: str) -> Column:
        """The column called name."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def stored_columns(self) -> list[Column]:
        return [c for c in self.columns if c.stored]


# A contact's direction, and the other words exports use for each (Five9 and Connect write INBOUND, Taiwanese
# platforms 進線 / 外撥).
DIRECTIONS = ("inbound", "outbound", "transfer", "callback")
DIRECTION_WORDS = (
    ("in", "inbound"), ("IB", "inbound"), ("incoming", "inbound"), ("進線", "inbound"), ("來電", "inbound"),
    ("撥入", "inbound"),
    ("out", "outbound"), ("OB", "outbound"), ("outgoing", "outbound"), ("外撥", "outbound"), ("撥出", "outbound"),
    ("去電", "outbound"),
    ("transferred", "transfer"), ("xfer", "transfer"), ("轉接", "transfer"),
    ("回撥", "callback"), ("回電", "callback"),
)

CONTACTS = Dataset(
    name="contacts",
    label_zh="進線紀錄",
    key=("contact_id",),
    time_column="arrived_at",
    meaning="One row per call, chat or e-mail offered to the center, as the phone or omnichannel platform exports it.",
    columns=(
        Column("contact_id", "text", "Platform's id of the contact.", required=True),
        Column("arrived_at", "timestamp", "When the contact entered the queue (local time).", required=True),
        Column("channel", "text", "phone, chat, email, ...", default="phone"),
        Column("direction", "enum",
               "Who started it: inbound (the customer), outbound (the center; in no inbound measure), transfer (a "
               "transferred contact's leg to the next agent or queue; not offered again, its original row keeps "
               "transferred = true) or callback (a call back the customer asked for). The KPI definitions say which "
               "directions each measure counts.",
               choices=DIRECTIONS, words=DIRECTION_WORDS, default="inbound"),
        Column("queue", "text", "Queue / skill the contact was routed to."),
        Column("team", "text", "Team that handled it (or owns the queue)."),
        Column("agent_id", "text", "Agent who answered it."),
        Column("agent_name", "text", "The agent's display name, as the platform shows it (pages show it beside the id)."),
        Column("answered", "bool", "Reached an agent. Derived from answered_at when absent."),
        Column("answered_at", "timestamp", "When an agent answered."),
        Column("abandoned_at", "timestamp", "When the customer hung up in the queue (only used to derive wait_seconds).", stored=False),
        # An e-mail may wait days for its answer: a year, not the 7 days of a handling time.
        Column("wait_seconds", "duration", "Queue time until answer or abandon. Derived from the timestamps when absent.",
               unit="s", hi=366 * 86400.0),
        Column("talk_seconds", "duration", "Talk (or chat/e-mail handling) time.", unit="s"),
        Column("hold_seconds", "duration", "Time on hold.", unit="s"),
        Column("acw_seconds", "duration", "After-call work (wrap-up) time.", unit="s"),
        Column("transferred", "bool", "Transferred to another agent or queue."),
        Column("resolved_first_contact", "bool", "Resolved on this contact; empty when unknown."),
        Column("customer_id", "text", "Customer's id. Stored only as a keyed hash (pseudonymised)."),
    ),
)

SURVEYS = Dataset(
    name="surveys",
    label_zh="滿意度調查",
    key=("survey_id",),
    time_column="responded_at",
    meaning=("One row per survey response. A survey about a contact counts in that contact's period, team, agent and "
             "channel; an unlinked one in the period it was answered, with its own team and agent."),
    columns=(
        Column("survey_id", "text", "Survey tool's id of the response.", required=True),
        Column("responded_at", "timestamp", "When the customer answered.", required=True),
        Column("contact_id", "text", "The contact the survey is about."),
        Column("team", "text", "Team; used when the survey is not linked to a contact."),
        Column("agent_id", "text", "Agent; used when the survey is not linked to a contact."),
        Column("csat", "int", "Customer satisfaction score.", unit="1-5", lo=1, hi=5),
        Column("nps", "int", "Likelihood to recommend.", unit="0-10", lo=0, hi=10),
        Column("ces", "int", "Customer effort score.", unit="1-7", lo=1, hi=7),
        Column("comment", "text", "Free-text comment."),
    ),
)

COMPLAINTS = Dataset(
    name="complaints",
    label_zh="客訴案件",
    key=("complaint_id",),
    time_column="opened_at",
    meaning="One row per complaint case from the ticketing / complaint system.",
    columns=(
        Column("complaint_id", "text", "Case id.", required=True),
        Column("opened_at", "timestamp", "When the case was opened.", required=True),
        Column("resolved_at", "timestamp", "When it was resolved; empty while open."),
        Column("resolution_hours", "hours", "Hours from opened to resolved (used when resolved_at is absent).", unit="h",
               hi=366 * 24.0, stored=False),
        Column("due_at", "timestamp", "When it is due."),
        Column("sla_hours", "hours", "Hours allowed to resolve (due = opened + sla_hours when due_at is absent).", unit="h",
               hi=366 * 24.0),
        Column("category", "text", "Complaint category."),
        Column("channel", "text", "Channel the complaint came through."),
        Column("team", "text", "Team responsible."),
        Column("agent_id", "text", "Agent concerned or responsible."),
        Column("priority", "text", "Priority as the source system names it."),
        Column("reopened_count", "int", "Times the case was reopened.", lo=0),
        Column("escalated", "bool", "Escalated to a higher level."),
    ),
)

BUDGET = Dataset(
    name="budget",
    label_zh="預算與實際",
    key=("period", "cost_center", "line"),
    time_column="period",
    meaning="One row per month x cost center x cost line. A sheet with the months as columns is accepted too.",
    columns=(
        Column("period", "month", "The month (stored as its first day).", required=True),
        Column("cost_center", "text", "Cost center; the whole center when absent.", default="CENTER"),
        Column("line", "text", "Budget line (e.g. agent wages, telecom).", required=True),
        Column("line_type", "enum", "cost or revenue.", choices=("cost", "revenue"), default="cost"),
        Column("budget", "amount", "Budgeted amount for the month.", unit="NT$"),
        Column("actual", "amount", "Actual amount; empty while the month is not closed.", unit="NT$"),
    ),
    # Only in the months-as-columns layout: says whether a row holds budget or actual amounts.
    extra_columns=(Column("measure", "enum", "Wide layout only: budget or actual.", choices=("budget", "actual"), stored=False),),
)

# What an agent is doing (agent_states.state) or is scheduled to do (schedule.activity), and the words workforce and
# phone platforms export for each (Genesys, Five9, Connect, NICE and Taiwanese platforms).
AGENT_STATES_CHOICES = ("available", "on_contact", "after_call_work", "break", "training", "meeting", "offline")
STATE_WORDS = (
    ("ready", "available"), ("idle", "available"), ("waiting", "available"), ("open", "available"),
    ("on queue", "available"), ("phone", "available"), ("可接聽", "available"), ("待機", "available"),
    ("就緒", "available"), ("閒置", "available"), ("上線", "available"),
    ("talking", "on_contact"), ("on call", "on_contact"), ("busy", "on_contact"), ("interacting", "on_contact"),
    ("handling", "on_contact"), ("hold", "on_contact"),
    ("通話", "on_contact"), ("通話中", "on_contact"), ("處理中", "on_contact"),
    ("acw", "after_call_work"), ("wrap", "after_call_work"), ("wrap up", "after_call_work"), 
    ("not ready acw", "after_call_work"), ("話後處理", "after_call_work"),
    ("整理", "after_call_work"), ("事後處理", "after_call_work"),
    ("lunch", "break"), ("rest", "break"), ("休息", "break"), ("用餐", "break"), ("午休", "break"),
    ("train", "training"), ("coaching", "training"), ("訓練", "training"), ("教育訓練", "training"), ("輔導", "training"),
    ("會議", "meeting"), ("team meeting", "meeting"), ("開會", "meeting"),
    ("logged out", "offline"), ("logout", "offline"), ("log off", "offline"), ("離線", "offline"), ("登出", "offline"),
)

AGENT_STATES = Dataset(
    name="agent_states",
    label_zh="專員狀態",
    key=("agent_id", "started_at"),
    time_column="started_at",
    meaning=("One row per stretch of time an agent spent in one state, as the phone or workforce platform's agent "
             "state (status) report exports it. Optional: staffing, occupancy, adherence and shrinkage read it."),
    columns=(
        Column("agent_id", "text", "Agent.", required=True),
        Column("state", "enum",
               "available (ready for a contact), on_contact, after_call_work, break, training, meeting or offline.",
               required=True, choices=AGENT_STATES_CHOICES, words=STATE_WORDS),
        Column("started_at", "timestamp", "When the state began (local time).", required=True),
        Column("ended_at", "timestamp", "When it ended; not before it began.", required=True),
        Column("team", "text", "The agent's team."),
        Column("agent_name", "text", "The agent's display name."),
        Column("channel", "text", "The channel the agent was staffed for (phone, chat, ...), as a per-channel state "
                                  "report gives it; empty: a blended agent, counted as staffed for every channel."),
    ),
)

SCHEDULE = Dataset(
    name="schedule",
    label_zh="排班表",
    key=("agent_id", "starts_at"),
    time_column="starts_at",
    meaning=("One row per scheduled activity of an agent (the workforce-management schedule). Optional: adherence "
             "and shrinkage read it; available means scheduled to take contacts."),
    columns=(
        Column("agent_id", "text", "Agent.", required=True),
        Column("activity", "enum", "What the agent is scheduled to do: available (take contacts), break, training, "
               "meeting or offline.", required=True, choices=AGENT_STATES_CHOICES, words=STATE_WORDS),
        Column("starts_at", "timestamp", "When the activity starts (local time).", required=True),
        Column("ends_at", "timestamp", "When it ends; not before it starts.", required=True),
        Column("team", "text", "The agent's team."),
    ),
)

# Pay types of a labour line: which paid hours and which loaded hourly rate its cost is (勞基法 §24: overtime at 1.34 /
# 1.67 of the regular rate, so its rate is its own).
PAY_TYPES = ("regular", "overtime")
PAY_WORDS = (("正常", "regular"), ("正常工時", "regular"), ("本薪", "regular"), ("薪資", "regular"), ("REG", "regular"),
             ("加班", "overtime"), ("加班費", "overtime"), ("OT", "overtime"))
# Paid hours of a line in a month: a centre's hundreds of agents x 200 h, well within this.
_LINE_HOURS = 10_000_000.0

BUDGET_DRIVERS = Dataset(
    name="budget_drivers",
    label_zh="預算驅動因子",
    key=("period", "cost_center", "line"),
    time_column="period",
    meaning=("One row per month x cost center x labour line: what the line's budget assumed (contacts, hours per "
             "contact, paid hours, hourly rate) and what happened (paid hours, FTE), to split its variance into "
             "volume, efficiency and rate. Read from a budget workbook's drivers sheet (驅動因子), in the same import."),
    columns=(
        Column("period", "month", "The month (stored as its first day).", required=True),
        Column("cost_center", "text", "Cost center; the whole center when absent.", default="CENTER"),
        Column("line", "text", "The budget line whose cost these drivers explain (e.g. 加班費).", required=True),
        Column("pay", "enum", "Which paid hours and hourly rate the line's cost is: regular or overtime.",
               choices=PAY_TYPES, words=PAY_WORDS, default="regular"),
        Column("budget_contacts", "int", "Contacts the budget planned for the month.", lo=0),
        Column("budget_hours_per_contact", "hours", "Budgeted paid hours per contact of this line (the standard).",
               unit="h"),
        Column("budget_aht_seconds", "duration", "Budgeted average handle time.", unit="s"),
        Column("budget_occupancy", "fraction", "Budgeted occupancy (0-1, or 85%).", unit="0-1"),
        Column("budget_shrinkage", "fraction", "Budgeted shrinkage (0-1, or 30%).", unit="0-1", hi=0.99),
        Column("budget_hours", "hours", "Budgeted paid hours of this line (regular or overtime).", unit="h",
               hi=_LINE_HOURS),
        Column("budget_fte", "number", "Budgeted full-time equivalents.", unit="FTE"),
        Column("budget_rate", "amount", "Budgeted loaded hourly rate of this line.", unit="NT$/h", lo=0),
        Column("actual_contacts", "int", "Contacts actually handled (else the contacts dataset's answered ones).",
               lo=0),
        Column("actual_hours", "hours", "Actual paid hours of this line.", unit="h", hi=_LINE_HOURS),
        Column("actual_fte", "number", "Actual full-time equivalents.", unit="FTE"),
    ),
)

# A survey's contact as the surveys table keeps it beside the survey (issue 17): the columns a survey is counted by
# (its contact's period, team, agent, channel and queue), so reading surveys needs no join with 100M contacts. Kept
# exact in the transaction of every write of either table (kpi.store.link_surveys), in surveys_history too; NULL when
# the survey's contact_id matches no contact. Internal: no Column, so never a mapping target, a preview, an export.
SURVEY_CONTACT_COLUMNS: dict[str, str] = {"contact_arrived_at": "arrived_at", "contact_team": "team",
                                          "contact_agent_id": "agent_id", "contact_channel": "channel",
                                          "contact_queue": "queue"}
# The internal columns of each dataset's table and history, beside its declared ones (an undo restores them too).
INTERNAL_COLUMNS: dict[str, tuple[str, ...]] = {"surveys": tuple(SURVEY_CONTACT_COLUMNS)}

DATASETS: dict[str, Dataset] = {d.name: d for d in (CONTACTS, SURVEYS, COMPLAINTS, BUDGET, BUDGET_DRIVERS, AGENT_STATES,
                                                      SCHEDULE)}
# Datasets a file of another dataset may carry and that land in its import (its transaction, its undo): a budget
# workbook's drivers sheet.
COMPANIONS: dict[str, tuple[str, ...]] = {"budget": ("budget_drivers",)}


def _checked_tables() -> dict[str, str]:
    """Each dataset's table as a CTE of the same name, every number outside its column's range read as NULL."""
    ctes = {}
    for ds in DATASETS.values():
        checks = [f"CASE WHEN {c.name} BETWEEN {c.bounds[0]!r} AND {c.bounds[1]!r} THEN {c.name} END AS {c.name}"
                  for c in ds.stored_columns if c.bounds[0] is not None]
        if checks:
            ctes[ds.name] = f"{ds.name} AS NOT MATERIALIZED (SELECT * REPLACE ({', '.join(checks)}) FROM {ds.name})"
    return ctes


_CHECKED_TABLES = _checked_tables()


def checked_sql(sql: str) -> str:
    """sql reading the datasets' tables as pages and reports can trust them: a number outside its column's range (inf,
    NaN, 1e308, put there by other means than an import, which rejects them) is NULL, unknown, instead of poisoning
    every sum it enters. Costs nothing measurable: the checks run only on the rows and columns a query reads. Only the
    tables sql names get their CTE: DuckDB binds every CTE of a statement, about 0.5 ms for all five."""
    named = set(re.findall(r"[a-z_]\w*", sql.lower()))  # DuckDB's names ignore case: FROM Contacts is contacts
    ctes = ", ".join(cte for name, cte in _CHECKED_TABLES.items() if name in named)
    if not ctes:
        return sql
    body = sql.lstrip()
    if body[:4].upper() == "WITH" and body[4:5].isspace():
        return f"WITH {ctes}, {body[5:]}"
    return f"WITH {ctes} {body}"


def get_dataset(name: str) -> Dataset:
    """The dataset called name, or a ValueError listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(DATASETS)}") from None
