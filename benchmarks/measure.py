"""Run a command in its own process group and measure it: wall time, peak memory, a time cap.

Peak memory is the peak resident set of the largest process of the run, from ``os.wait4``: the
process itself or the largest of the children it waited for (parallel workers are not added up).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Run:
    seconds: float | None = None  # wall clock of the process, or the in-process figure
    peak_mb: float | None = None  # peak RSS of the largest process of the run
    timed_out_after: float | None = None
    note: str = ""  # why there is no figure
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.seconds is not None and self.timed_out_after is None and not self.note


def run_measured(
    cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float, log: Path, ok_codes: tuple[int, ...] = (0,)
) -> Run:
    """Run a command in its own process group; wall time and peak RSS from ``os.wait4``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        reaped: dict[str, Any] = {}

        def reap() -> None:
            _, status, usage = os.wait4(process.pid, 0)
            reaped.update(end=time.perf_counter(), status=status, usage=usage)

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        waiter.join(max(timeout, 0.0))
        if waiter.is_alive():
            os.killpg(process.pid, signal.SIGKILL)
            waiter.join()
        process.returncode = os.waitstatus_to_exitcode(reaped["status"])  # reaped by wait4, not Popen
        try:
            os.killpg(process.pid, signal.SIGKILL)  # leftovers of the tool's own process group
        except ProcessLookupError:
            pass
    peak_mb = reaped["usage"].ru_maxrss / 1024
    seconds = reaped["end"] - start
    if seconds >= timeout:
        return Run(peak_mb=peak_mb, timed_out_after=timeout)
    if process.returncode not in ok_codes:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        return Run(peak_mb=peak_mb, note=f"failed (exit {process.returncode}: {' '.join(tail)[:120]}; see {log})")
    return Run(seconds=seconds, peak_mb=peak_mb)


def best_of(runs: list[Run]) -> Run:
    good = [run for run in runs if run.ok]
    if not good:
        return runs[0]
    best = min(good, key=lambda run: run.seconds or 0.0)
    best.peak_mb = max(run.peak_mb or 0.0 for run in good)
    return best


def fmt_time(run: Run | None) -> str:
    if run is None:
        return "-"
    if run.timed_out_after is not None:
        return f"> {run.timed_out_after:.0f} s"
    if run.note:
        return run.note
    assert run.seconds is not None
    if run.seconds < 1:
        return f"{run.seconds:.3f} s"
    return f"{run.seconds:.2f} s" if run.seconds < 100 else f"{run.seconds:.0f} s"


def fmt_mem(run: Run | None) -> str:
    return f"{run.peak_mb:.0f} MB" if run is not None and run.peak_mb else "-"


def ratio(numerator: Run | None, denominator: Run | None) -> str:
    if numerator is None or denominator is None or not denominator.ok or not denominator.seconds:
        return "n/a"
    if numerator.timed_out_after is not None:
        return f"> {numerator.timed_out_after / denominator.seconds:.0f}×"
    if not numerator.ok or numerator.seconds is None:
        return "n/a"
    value = numerator.seconds / denominator.seconds
    return f"{value:.0f}×" if value >= 10 else f"{value:.2f}×"
