"""What the bench/ scripts share: the data generator, a work directory, memory readings, the check's exception.

The scripts import it as `_common`: Python puts a script's own folder first on sys.path.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "sample_data" / "generate.py"


class CheckFailed(Exception):
    """The benchmark's result differs from its independent recomputation: the script exits with status 1."""


def generate(out: Path, contacts: int, *, seed: int | None = None, only_contacts: bool = True,
             chunk_rows: int | None = None, agents: int | None = None) -> Path:
    """Run sample_data/generate.py into `out` as its own process; returns `out`. Contacts only: an uncompressed CSV,
    or with chunk_rows contacts-0001.csv, ... of about that many rows each; agents: the centre's staff (default 30)."""
    cmd = [sys.executable, str(GENERATOR), "--out", str(out), "--contacts", str(contacts)]
    if only_contacts:
        cmd += ["--only", "contacts"] + (["--chunk-rows", str(chunk_rows)] if chunk_rows else ["--no-gzip"])
    if agents is not None:
        cmd += ["--agents", str(agents)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


@contextlib.contextmanager
def work_dir(keep: Path | None, prefix: str) -> Iterator[Path]:
    """`keep` (created, kept afterwards) or a temporary directory removed afterwards."""
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            yield Path(tmp)


def rss_mib() -> float:
    """The process's resident set size now (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    """Peak resident set size of this process since it started (ru_maxrss is in KiB on Linux; no reset). Linux keeps
    ru_maxrss across fork and exec: a process started by one that had peaked higher reports that peak (a page process
    started by the build that bulk-loaded 100M rows said 12.5 GB); own_peak_rss_mib() is the process's own."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_peak_rss_mib() -> float:
    """This process's own peak resident set size since it started or since reset_peak_rss() (Linux: VmHWM, which an
    exec starts afresh), in MiB; ru_maxrss where /proc has none."""
    return peak_rss_since_reset_mib()


def reset_peak_rss() -> None:
    """Start a new peak: Linux resets VmHWM to the current RSS when 5 is written to clear_refs."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not allowed: the peak is then the process's since start
        pass


def peak_rss_since_reset_mib() -> float:
    """Peak resident set size (VmHWM) since the last reset_peak_rss(), in MiB; ru_maxrss where /proc has none."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return peak_rss_mib()
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")),
                peak_rss_mib())


def sized_parser(description: str, size: str, default: int, smoke: int, what: str) -> argparse.ArgumentParser:
    """The arguments every data benchmark takes: --<size> N, --smoke (a small size for CI, same check), --keep, --seed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument(f"--{size}", type=int, default=default, help=f"{what} to generate (default {default:,})")
    ap.add_argument("--smoke", action="store_true", help=f"{smoke:,} {what}: seconds, and the same check (for CI)")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write the CSV and the database here and keep them")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.set_defaults(_size=size, _smoke=smoke)
    return ap


def run_checked(ap: argparse.ArgumentParser, argv: list[str] | None, run) -> int:
    """Parse, apply --smoke, refuse a size below 1, run; a failed check prints FAILED and exits 1."""
    args = ap.parse_args(argv)
    if args.smoke:
        setattr(args, args._size, args._smoke)
    if getattr(args, args._size) < 1:
        ap.error(f"--{args._size} must be at least 1, got {getattr(args, args._size)}")
    return checked(run, args)


def checked(run, args: argparse.Namespace) -> int:
    """run(args); a failed check prints FAILED and gives exit code 1."""
    try:
        run(args)
    except CheckFailed as exc:
        print(f"FAILED      {exc}", file=sys.stderr)
        return 1
    return 0


def best_ms(fn, runs: int = 3) -> float:
    """The fastest of runs calls of fn, in milliseconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return min(times)


def as_served(at: Any) -> Any:
    """The AppTest with Streamlit's installed components found once in this process, as the served app finds them at
    its start (Runtime.__init__ scans every installed distribution's metadata: about 180 ms here the first time, 90
    after). AppTest scans again in each instance's first run, which a page's first run would count: the scale
    benchmark's budget page (its cache miss is its first run) read 738-1,095 ms in five runs with the scan, 629 and 737
    without; each of this benchmark's warm runs is a new AppTest. Where this Streamlit has no such scan, the AppTest
    is left as it is."""
    components = _served_components()
    if components is not None and hasattr(at, "_bidi_component_manager"):
        at._bidi_component_manager = components  # noqa: SLF001  (AppTest's own, made at its first run otherwise)
    return at


@functools.cache
def _served_components() -> Any:
    """Streamlit's installed components, found once in this process (None: this Streamlit does not scan for them)."""
    try:
        from streamlit.components.v2.component_manager import BidiComponentManager
    except ImportError:
        return None
    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager
