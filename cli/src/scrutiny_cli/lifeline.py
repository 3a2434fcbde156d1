"""Children that die with the supervisor, whatever kills it.

`scrutiny up` stops its children in order when it is asked to (Ctrl-C, SIGTERM); this covers the
cases where it is given no chance: SIGKILL, the OOM killer, a CI timeout. On Linux each child
asks the kernel (`prctl(PR_SET_PDEATHSIG)`) for a SIGTERM when its parent dies, and then runs
uvicorn's own graceful shutdown, so no server outlives `up` holding its port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def dies_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that ties the child's life to this process's; None where Linux's isn't."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def tie() -> None:
        # Runs in the child between fork and exec: async-signal-safe calls only.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            # The parent died before the request took effect: nobody will signal us.
            os._exit(1)

    return tie
