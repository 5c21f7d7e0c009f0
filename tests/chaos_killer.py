"""Chaos-suite callback (test-only): names every moment of a run (callback hooks and each
step of every atomic write: temporary file created, fsync, rename) and SIGKILLs its own
process at the first moment at or after the reference-run moment $CHAOS_TARGET.

A moment's key is what it does and where: (kind, phase, epoch, global step, occurrence), so
a resumed process meets the same keys again; start-up moments carry no position, so they
match in every process. $CHAOS_RECORD: append every key to that file (the reference run).
$CHAOS_SHARED: a 12-byte file mapped shared, where the phase and global step of the latest
moment are kept for the harness (it reads them after a kill)."""
from __future__ import annotations

import json
import mmap
import os
import signal
import struct
import tempfile

from trainer.engine.callbacks import Callback

PHASES = ("start-up", "mid-epoch", "validation", "checkpoint write", "rename window",
          "epoch end", "final evaluation", "finish")


class ChaosKiller(Callback):
    def __init__(self):
        self.phase = "start-up"
        self.training_ended = False
        self.writing: str | None = None
        self.seen: dict[str, int] = {}
        self.target = int(os.environ.get("CHAOS_TARGET", "-1"))
        moments = os.environ.get("CHAOS_MOMENTS")
        self.index = json.loads(open(moments).read()) if moments and self.target >= 0 else {}
        record = os.environ.get("CHAOS_RECORD")
        self.record = open(record, "a", buffering=1) if record else None
        shared = os.environ.get("CHAOS_SHARED")
        self.shared = None
        if shared:
            with open(shared, "r+b") as handle:
                self.shared = mmap.mmap(handle.fileno(), 12)
        self._patch_writes()
        self.moment("init")

    # --- moments ------------------------------------------------------------------------
    def moment(self, kind: str, phase: str | None = None) -> None:
        phase = phase or self.phase
        loop = getattr(self, "loop", None)
        progress = loop.progress if loop is not None else None
        where = "" if phase == "start-up" or progress is None else \
            f"|{progress.epoch}|{progress.global_step}"
        base = f"{kind}|{phase}{where}"
        self.seen[base] = occurrence = self.seen.get(base, 0) + 1
        key = f"{base}|{occurrence}"
        step = progress.global_step if progress is not None else 0
        if self.shared is not None:
            struct.pack_into("<iii", self.shared, 0, PHASES.index(phase), step, 1)
        if self.record is not None:
            self.record.write(json.dumps([key, phase]) + "\n")
        if self.target >= 0 and self.index.get(key, -1) >= self.target:
            os.kill(os.getpid(), signal.SIGKILL)

    def _patch_writes(self) -> None:
        real_mkstemp, real_fsync, real_replace, real_link = (tempfile.mkstemp, os.fsync,
                                                             os.replace, os.link)
        killer = self

        def file_phase(name: str | None) -> str | None:
            return "checkpoint write" if name and name.endswith(".pt") else None

        def mkstemp(*args, prefix=None, **kwargs):
            killer.writing = (prefix or "")[1:-1] or None  # atomic_write: ".NAME."
            result = real_mkstemp(*args, prefix=prefix, **kwargs)
            killer.moment(f"created:{killer.writing}", file_phase(killer.writing))
            return result

        def fsync(fd):
            real_fsync(fd)
            killer.moment(f"fsync:{killer.writing or 'dir'}", file_phase(killer.writing))

        def replace(src, dst):
            name = os.path.basename(str(dst))
            killer.moment(f"rename:{name}", "rename window" if name.endswith(".pt") else None)
            real_replace(src, dst)
            if os.path.basename(str(src)).startswith("."):  # the temporary file is in place
                killer.writing = None

        def link(src, dst, **kwargs):
            killer.moment(f"link:{os.path.basename(str(dst))}", "rename window")
            real_link(src, dst, **kwargs)
        tempfile.mkstemp, os.fsync, os.replace, os.link = mkstemp, fsync, replace, link

    # --- hooks --------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.moment("train_begin")
        self.phase = "mid-epoch"

    def on_train_batch_end(self, batch, logs=None):
        self.phase = "mid-epoch"
        self.moment("batch")

    def on_test_begin(self, logs=None):
        finished = self.training_ended or self.loop.progress.outcome is not None
        self.phase = "final evaluation" if finished else "validation"

    def on_test_batch_end(self, batch, logs=None):
        self.moment("test_batch")

    def on_test_end(self, logs=None):
        self.phase = "finish" if self.training_ended else "epoch end"

    def on_epoch_end(self, epoch, logs=None):
        self.phase = "epoch end"
        self.moment("epoch_end")

    def on_train_end(self, logs=None):
        self.training_ended = True
        self.phase = "finish"
        self.moment("train_end")
