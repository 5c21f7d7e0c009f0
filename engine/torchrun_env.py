"""Whether this process is a torchrun worker, and which rank, read from the environment alone
(no torch import: the CLI asks before it knows whether it will train)."""
from __future__ import annotations

import os


def launched_by_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or (
        "RANK" in os.environ and "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ)


def rank() -> int:
    return int(os.environ.get("RANK", "0")) if launched_by_torchrun() else 0
