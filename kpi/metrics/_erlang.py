"""Erlang C (M/M/N queue): wait probability, service level, ASA, occupancy and the agents a target needs
(/work/shared DOMAIN "Staffing"; T2.1 P2.1.2). Plain floats, no Streamlit, no database."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..present import t

__all__ = ["ERROR_CODES", "ErlangError", "Staffing", "traffic", "erlang_b", "wait_probability", "service_level", "asa_seconds",
           "occupancy", "required_agents", "fte", "erlang_staffing"]


# Every reason an input is refused; each is the message erlang.error.<code>.
ERROR_CODES = ("negative_calls", "aht_not_positive", "interval_not_positive", "agents_not_above_traffic",
               "sl_target_range", "negative_seconds", "max_asa_not_positive", "max_occupancy_range", "shrinkage_range")


class ErlangError(ValueError):
    """An input Erlang C can't work with; `code` is the message erlang.error.<code>, `params` fill it. str() is the
    English text (the CLI's language for errors)."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code, self.params = code, params
        super().__init__(t(f"erlang.error.{code}", "en", **params))

    def text(self, lang: str) -> str:
        """The message in lang."""
        return t(f"erlang.error.{self.code}", lang, **self.params)


def traffic(calls: float, aht_seconds: float, interval_seconds: float) -> float:
    """Offered traffic A in Erlangs: calls x AHT / interval length."""
    if not calls >= 0:
        raise ErlangError("negative_calls", calls=calls)
    if not aht_seconds > 0:
        raise ErlangError("aht_not_positive", aht=aht_seconds)
    if not interval_seconds > 0:
        raise ErlangError("interval_not_positive", seconds=interval_seconds)
    return calls * aht_seconds / interval_seconds


def erlang_b(agents: int, a: float) -> float:
    """Erlang B blocking probability by the recursion B(k) = A·B(k-1) / (k + A·B(k-1)): no factorial, no overflow."""
    b = 1.0
    for k in range(1, agents + 1):
        b = a * b / (k + a * b)
    return b


def _check_stable(agents: int, a: float) -> None:
    if not agents > a:
        raise ErlangError("agents_not_above_traffic", agents=agents, traffic=round(a, 2))


def _c_from_b(agents: int, a: float, b: float) -> float:
    return agents * b / (agents - a * (1 - b))


def wait_probability(agents: int, a: float) -> float:
    """Erlang C: the chance a contact waits, C(N, A) = N·B / (N - A·(1 - B)); N must exceed A."""
    _check_stable(agents, a)
    return _c_from_b(agents, a, erlang_b(agents, a))


def _sl(agents: int, a: float, c: float, aht: float, seconds: float) -> float:
    return 1.0 - c * math.exp(-(agents - a) * seconds / aht)


def service_level(agents: int, a: float, aht_seconds: float, target_seconds: float) -> float:
    """Share answered within target_seconds: 1 - C·exp(-(N - A)·T / AHT)."""
    _check_inputs(aht_seconds, target_seconds)
    return _sl(agents, a, wait_probability(agents, a), aht_seconds, target_seconds)


def asa_seconds(agents: int, a: float, aht_seconds: float) -> float:
    """Average speed of answer: C·AHT / (N - A)."""
    _check_inputs(aht_seconds, 0)
    return wait_probability(agents, a) * aht_seconds / (agents - a)


def occupancy(agents: int, a: float) -> float:
    """Occupancy A / N (N must exceed A)."""
    _check_stable(agents, a)
    return a / agents


def fte(agents: int, shrinkage: float) -> int:
    """Agents to schedule so `agents` are on the phones after shrinkage: N / (1 - shrinkage), rounded up."""
    if not 0 <= shrinkage < 1:
        raise ErlangError("shrinkage_range", shrinkage=shrinkage)
    # round() first: 14 / 0.7 is 20.000000000000004 in binary floating point, and 20 agents, not 21, are needed
    return math.ceil(round(agents / (1 - shrinkage), 9))


def _check_inputs(aht_seconds: float, target_seconds: float, sl_target: float | None = None,
                  max_asa: float | None = None, max_occupancy: float | None = None) -> None:
    if not aht_seconds > 0:
        raise ErlangError("aht_not_positive", aht=aht_seconds)
    if not target_seconds >= 0:
        raise ErlangError("negative_seconds", seconds=target_seconds)
    if sl_target is not None and not 0 < sl_target < 1:
        raise ErlangError("sl_target_range", target=sl_target)
    if max_asa is not None and not max_asa > 0:
        raise ErlangError("max_asa_not_positive", seconds=max_asa)
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ErlangError("max_occupancy_range", occupancy=max_occupancy)


def required_agents(a: float, aht_seconds: float, sl_target: float, target_seconds: float,
                    max_asa: float | None = None, max_occupancy: float | None = None) -> int:
    """The smallest N > A with service level >= sl_target at target_seconds (and ASA <= max_asa, A/N <= max_occupancy
    when given). No traffic needs no agent: 0."""
    return _solve(a, aht_seconds, sl_target, target_seconds, max_asa, max_occupancy)[0]


def _solve(a: float, aht_seconds: float, sl_target: float, target_seconds: float, max_asa: float | None,
           max_occupancy: float | None) -> tuple[int, float]:
    """(required N, C(N, A))."""
    _check_inputs(aht_seconds, target_seconds, sl_target, max_asa, max_occupancy)
    if not a >= 0:
        raise ErlangError("negative_calls", calls=a)
    if a == 0:
        return 0, 0.0
    # One pass of the Erlang B recursion: N = k is tested as soon as B(k) is known, so finding N costs N steps.
    b, k = 1.0, 0
    while True:
        k += 1
        b = a * b / (k + a * b)
        if k <= a:
            continue
        c = _c_from_b(k, a, b)
        if (_sl(k, a, c, aht_seconds, target_seconds) >= sl_target
                and (max_asa is None or c * aht_seconds / (k - a) <= max_asa)
                and (max_occupancy is None or a / k <= max_occupancy)):
            return k, c


@dataclass(frozen=True)
class Staffing:
    """What Erlang C says for one interval: the agents needed and what they achieve."""
    traffic: float  # Erlangs
    agents: int
    service_level: float | None  # None when no contact was offered
    asa_seconds: float | None
    occupancy: float | None
    wait_probability: float | None
    fte: int

    def jsonable(self) -> dict[str, Any]:
        """The CLI's JSON: agents, service_level, asa_seconds, occupancy, wait_probability, fte."""
        doc = asdict(self)
        doc.pop("traffic")
        return doc


def erlang_staffing(calls: float, interval_seconds: float, aht_seconds: float, sl_target: float, target_seconds: float,
                    shrinkage: float = 0.0, max_asa: float | None = None,
                    max_occupancy: float | None = None) -> Staffing:
    """Required agents for one interval and what they achieve: SL, ASA, occupancy, wait probability, FTE."""
    a = traffic(calls, aht_seconds, interval_seconds)
    n, c = _solve(a, aht_seconds, sl_target, target_seconds, max_asa, max_occupancy)
    need = fte(n, shrinkage)
    if n == 0:
        return Staffing(a, 0, None, None, None, None, need)
    return Staffing(a, n, _sl(n, a, c, aht_seconds, target_seconds), c * aht_seconds / (n - a), a / n, c, need)
