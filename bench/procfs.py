"""What the benchmarks read of a process from /proc: its resident memory and its CPU time."""

from __future__ import annotations

import os
from pathlib import Path


def rss_mib(pid: int | str = "self") -> float:
    """The process's resident set (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def process_cpu(pid: int | str = "self") -> float:
    """CPU seconds the process has used (user and system), in the kernel's ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def store_process_pid(worker: object) -> int | None:
    """The process id of `serve`'s store process, if `worker` (an app's `WORKER`) is one and
    it is running; None for the store's worker thread."""
    from bot.store_process import StoreProcess

    return worker.pid if isinstance(worker, StoreProcess) else None
