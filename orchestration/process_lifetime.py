"""Processes of a run die with the run.

A run worker killed with SIGKILL (OOM killer, an operator, a node going away) cannot clean up:
its step process and dagster-dbt's `dbt build` child used to run on as orphans, holding the
warehouse build and CPU while run monitoring had already failed the run and its retry started.
Linux lets a process ask to be killed when its parent dies (prctl PR_SET_PDEATHSIG); the step
process of a multiprocess run asks for it towards its run worker, and every dbt child towards its
step. Elsewhere (macOS) nothing changes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def _libc_prctl():
    # Looked up once, before any fork: `die_with_parent` also runs between fork and exec, where
    # loading a library could deadlock on a lock another thread held.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when the thread that started it exits."""
    return _PRCTL is not None and _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0


def bind_to_run() -> None:
    """Called by an asset before it starts long-lived children: the step process (a
    multiprocessing child of the run worker) dies with the run worker, and dbt children started by
    dagster-dbt die with the step."""
    if multiprocessing.parent_process() is not None:
        die_with_parent()
    _dbt_children_die_with_their_step()


class _SubprocessWithParentDeath:
    """The `subprocess` module as dagster-dbt sees it, with `Popen` children bound to their parent."""

    def __getattr__(self, name):
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args, **kwargs):  # noqa: N802 - the name dagster-dbt calls
        kwargs.setdefault("preexec_fn", die_with_parent)
        return subprocess.Popen(*args, **kwargs)


def _dbt_children_die_with_their_step() -> None:
    from dagster_dbt.core import dbt_cli_invocation

    if not isinstance(dbt_cli_invocation.subprocess, _SubprocessWithParentDeath):
        dbt_cli_invocation.subprocess = _SubprocessWithParentDeath()
