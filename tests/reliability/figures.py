"""Figures measured by the reliability tests, for docs/RELIABILITY.md.

Each test records a small dict under a name; the lot is written to
test-artifacts/reliability-figures.json (ignored by git) as the tests run."""
import json
import os
from pathlib import Path

PATH = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability-figures.json"


def record(name, values):
    PATH.parent.mkdir(exist_ok=True)
    try:
        data = json.loads(PATH.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = values
    tmp = PATH.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(PATH)
