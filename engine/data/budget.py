"""`data.memory_budget`: how many bytes of a data set may live in memory. HDF5 splits larger
than this stream from disk; the default is a quarter of the machine's RAM."""
from __future__ import annotations

import os
import re
from typing import Any

from ..errors import ConfigError

DEFAULT_RAM_FRACTION = 0.25
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}


def memory_budget(value: Any, key_path: str = "data.memory_budget") -> int:
    """Bytes from an int or a string like '512MB' / '2GiB'; None -> the RAM default."""
    if value is None:
        return int(total_ram() * DEFAULT_RAM_FRACTION)
    if isinstance(value, int) and not isinstance(value, bool):
        amount = value
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
        unit = match and _UNITS.get(match.group(2).lower())
        if not unit:
            raise ConfigError(f"'{value}' is not a memory size (e.g. 512MB, 2GB, 1GiB, or bytes)",
                              key_path)
        amount = int(float(match.group(1)) * unit)
    if amount <= 0:
        raise ConfigError(f"must be more than 0 bytes, got {value}", key_path)
    return amount


def total_ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30
