"""Checksums sealed into checkpoint files: a SHA-256 of the content in the zip archive's
comment, so the file stays an ordinary torch checkpoint and any change to it is detected."""
from __future__ import annotations

import hashlib

# torch.save writes a zip archive; its end-of-central-directory record (22 bytes, signature
# first, comment length last) ends the file, so a comment can follow it.
EOCD_SIGNATURE = b"PK\x05\x06"
EOCD_SIZE = 22
SEAL_PREFIX = b"trainer-sha256:"
SEAL_SIZE = len(SEAL_PREFIX) + 64


class Damaged(Exception):
    """What is wrong with a file's content, in words for the user."""


def seal(archive: bytes | memoryview) -> bytes:
    """`archive` (as torch.save wrote it) with its SHA-256 in the zip comment."""
    archive = bytes(archive)
    if archive[-EOCD_SIZE:-EOCD_SIZE + 4] != EOCD_SIGNATURE or archive[-2:] != b"\0\0":
        raise ValueError("torch.save did not end its archive with an empty zip comment")
    digest = hashlib.sha256(archive).hexdigest().encode("ascii")
    return archive[:-2] + SEAL_SIZE.to_bytes(2, "little") + SEAL_PREFIX + digest


def unseal(data: bytes) -> bytes:
    """The archive inside a sealed file, after checking its checksum; raises Damaged."""
    if not data:
        raise Damaged("the file is empty")
    if not data.strip(b"\0"):
        raise Damaged("the file holds only zero bytes (lost in a crash or power cut)")
    seal_at = len(data) - SEAL_SIZE
    if seal_at < EOCD_SIZE or data[seal_at:seal_at + len(SEAL_PREFIX)] != SEAL_PREFIX:
        raise Damaged("the file is truncated or incomplete (its checksum, written last, "
                      "is missing)")
    archive = data[:seal_at - 2] + b"\0\0"
    expected = data[seal_at + len(SEAL_PREFIX):]
    if hashlib.sha256(archive).hexdigest().encode("ascii") != expected:
        raise Damaged("the checksum does not match: the file changed after it was written "
                      "(bit rot, a partial overwrite or zero-filled blocks)")
    return archive
