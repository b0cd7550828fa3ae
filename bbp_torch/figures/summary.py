"""The summary file of a mode, ``<out>/summary_<mode>.json``: each figure's numbers, the
estimate, the timings (seconds) and the failures (figure key -> ``Type: message``).

``--only`` redraws some figures: the summary keeps the other figures' entries, merges the
per-preset entries (dicts that are not a figure's) and forgets a failure of a figure that was
drawn again.
"""

from __future__ import annotations

import json
from pathlib import Path

from bbp_torch.results import write_json_atomic


def merge_summary(path: Path, new: dict, drawn: list[str], timings: dict, failed: dict,
                  figures) -> dict:
    """Merge ``new`` (this invocation's summary, figures ``drawn``) into the file at ``path``
    (written atomically); ``figures`` are the keys of every figure. Returns the merged summary."""
    summary = json.loads(path.read_text()) if path.exists() else {}
    earlier = summary.get("timings_s", {})
    for key, value in new.items():
        earlier_value = summary.get(key)
        if key not in figures and isinstance(value, dict) and isinstance(earlier_value, dict):
            value = {**earlier_value, **value}
        summary[key] = value
    summary["timings_s"] = {**earlier, **timings}
    summary["failed"] = {**{k: v for k, v in summary.get("failed", {}).items()
                            if k not in drawn}, **failed}
    write_json_atomic(path, summary)
    return summary
