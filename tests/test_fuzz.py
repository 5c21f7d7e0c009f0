"""300 seeded fuzz cases of untrusted input (tests/fuzzing.py; `make fuzz` runs 5,000): mutated
shipped configs, data files and checkpoints all end in exit 0 or 2, never a crash, a traceback
or a hang, and a refused case writes nothing."""
from __future__ import annotations

from fuzzing import Stats, run_fuzz

CASES = 300


def test_fuzzed_configs_data_and_checkpoints_fail_cleanly(tmp_path):
    stats = run_fuzz(tmp_path, CASES, Stats(), raise_on_failure=True)
    kinds = {o.kind for o in stats.outcomes}
    assert len(stats.outcomes) >= CASES
    assert {"config", "checkpoint", "checkpoint-config", "data-npz", "data-h5", "data-csv",
            "data-idx", "data-gz", "data-npy"} <= kinds
    # Not everything is refused: some mutations leave a valid config or a loadable file.
    assert {o.exit_code for o in stats.outcomes} == {0, 2}
