"""What a file reader catches when a file is not what its name says (empty, cut short,
random bytes, another format, absurd header sizes), and the one-line reason it reports."""
from __future__ import annotations

import csv
import struct
import tokenize
import zipfile
import zlib

# UnicodeDecodeError is a ValueError; h5py reports a damaged file as OSError, or RuntimeError
# while visiting its objects; MemoryError and OverflowError come from headers that claim
# absurd sizes; numpy parses a damaged .npy header with tokenize/ast (TokenError, SyntaxError).
UNREADABLE = (OSError, EOFError, ValueError, KeyError, IndexError, RuntimeError, SyntaxError,
              zipfile.BadZipFile, zlib.error, struct.error, csv.Error, tokenize.TokenError,
              MemoryError, OverflowError)


def reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
