"""sample_data/generate.py at scale: --chunk-rows (contacts-0001.csv, ... written by DuckDB) and --agents.

The canonical `--contacts N --only contacts --no-gzip` CSV must stay byte for byte what it was; the chunks must hold
exactly its rows; more agents must keep the three teams' shape.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

GENERATOR = Path(__file__).resolve().parent.parent / "sample_data" / "generate.py"


@pytest.fixture
def gen(monkeypatch):
    """A fresh copy of the generator module per test: --agents changes its module-level staff tables."""
    spec = importlib.util.spec_from_file_location("sample_generate_scale", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_canonical_csv_is_byte_identical_to_before(gen, tmp_path):
    # sha256 of main's output (46101e3, before --chunk-rows/--agents) for these exact arguments, taken with
    # `python sample_data/generate.py --out DIR --contacts 5000 --only contacts --no-gzip --seed 7` on main.
    assert gen.main(["--out", str(tmp_path), "--contacts", "5000", "--only", "contacts", "--no-gzip",
                     "--seed", "7"]) == 0
    digest = hashlib.sha256((tmp_path / "contacts.csv").read_bytes()).hexdigest()
    assert digest == "7651272e849f0e4be72eba86608b6da1e4dad39e5078dd7a92b1884ff03edd7f"


def test_chunks_hold_exactly_the_canonical_rows(gen, tmp_path):
    whole, chunked = tmp_path / "whole", tmp_path / "chunks"
    assert gen.main(["--out", str(whole), "--contacts", "6000", "--only", "contacts", "--no-gzip", "--seed", "3"]) == 0
    assert gen.main(["--out", str(chunked), "--contacts", "6000", "--only", "contacts", "--seed", "3",
                     "--chunk-rows", "2000"]) == 0
    files = sorted(chunked.glob("contacts-*.csv"))
    assert [f.name for f in files] == ["contacts-0001.csv", "contacts-0002.csv", "contacts-0003.csv"]
    header, *rows = (whole / "contacts.csv").read_bytes().split(b"\n", 1)
    chunk_parts = [f.read_bytes().split(b"\n", 1) for f in files]
    assert {h for h, _ in chunk_parts} == {header}  # each chunk is an importable file with the same header
    assert b"".join(body for _, body in chunk_parts) == rows[0]  # same rows, same bytes, same order
    # whole days per chunk: no day is split across two files
    days = [set(pd.read_csv(f, usecols=["arrived_at"])["arrived_at"].str[:10]) for f in files]
    assert not (days[0] & days[1]) and not (days[1] & days[2])
    assert all(len(pd.read_csv(f)) >= 2000 for f in files[:-1])


def test_more_agents_keep_the_three_teams(gen, tmp_path):
    assert gen.main(["--out", str(tmp_path), "--contacts", "30000", "--only", "contacts", "--seed", "5",
                     "--chunk-rows", "100000", "--agents", "1200"]) == 0
    df = pd.read_csv(tmp_path / "contacts-0001.csv", dtype=str, keep_default_na=False)
    assert len(df) == 30_000
    answered = df[df["answered"] == "Y"]
    agents = answered.groupby("agent_id")["team"].nunique()
    assert (agents == 1).all()  # every agent works in one team
    assert set(answered["team"]) == set(gen.TEAMS)
    # 1,200 agents: 400 per team, ids A0001..A1200 (four digits), team by block of 400
    assert set(agents.index) <= {f"A{i:04d}" for i in range(1, 1201)}
    assert len(agents) > 1000  # ~15 answered contacts each: nearly all of them appear
    team_of = answered.drop_duplicates("agent_id").set_index("agent_id")["team"]
    assert all(team == gen.TEAMS[(int(agent[1:]) - 1) // 400] for agent, team in team_of.items())
    assert (df.loc[df["answered"] == "N", ["agent_id", "agent_name"]] == "").all().all()
    assert answered["agent_name"].str.len().between(2, 3).all()


def test_chunk_rows_needs_contacts_only(gen, tmp_path, capsys):
    with pytest.raises(SystemExit):
        gen.main(["--out", str(tmp_path), "--contacts", "100", "--chunk-rows", "50"])
    assert "--only contacts" in capsys.readouterr().err
