"""Every row of the table of cases in docs/reliability.md, run as it stands there."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import torch

from bbp_torch.results import find_records, read_record

DOC = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"


def table_rows() -> list[tuple[str, str, int, str, str]]:
    """``(case, command, exit, says, left)`` of the table under "## The cases"."""
    text = DOC.read_text().split("## The cases", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 5 or not cells[1].startswith("`"):
            continue
        case, command, code, says, left = cells
        rows.append((case, command.strip("`"), int(code), says.strip("`"), left))
    return rows


ROWS = table_rows()


def left_on_disk(root: Path) -> str:
    """``nothing`` (no ``outputs/`` folder, not even an empty one, and no record), or the
    sorted statuses of the records under ``root`` (``error(kind)``)."""
    if not (root / "outputs").exists() and not find_records([root]):
        return "nothing"
    statuses = []
    for path in find_records([root]):
        record = read_record(path)
        status = record["status"]
        statuses.append(f"error({record['error_kind']})" if status == "error" else status)
    return ", ".join(sorted(statuses)) if statuses else "files but no record"


def test_the_table_is_read_whole():
    assert len(ROWS) >= 90
    assert len({case for case, *_ in ROWS}) == len(ROWS), "each case once"


@pytest.mark.parametrize("case, line, code, says, left", ROWS, ids=[r[0] for r in ROWS])
def test_case(command, tmp_path, case, line, code, says, left):
    if "device=cuda" in line and torch.cuda.is_available():
        pytest.skip("the case is a machine without CUDA")
    for part in line.split(" ; "):
        name, *args = shlex.split(part)
        result = command(name, *args)
    said = result.out + result.err
    assert result.code == code, said[-2000:]
    assert says in said, said[-2000:]
    assert "Traceback" not in said
    assert left_on_disk(tmp_path) == left
