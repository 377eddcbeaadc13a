"""Shared plumbing for the benchmarks: servers, Django set-up, timing, query counting, results.

Every bench script runs alone (`.venv/bin/python bench/bench_jobs.py`): without a PostgreSQL
DATABASE_URL and a REDIS_URL it re-runs itself under scripts/services.py, which starts throwaway
servers like `make test` does. Each script writes its figures to var/bench/<name>.json and prints
them; bench/run_all.py gathers those into bench/RESULTS.md.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() \
    else sys.executable

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def ensure_services():
    """Re-exec under scripts/services.py unless PostgreSQL and Redis are already given."""
    db = os.environ.get("DATABASE_URL", "")
    if db.startswith(("postgres://", "postgresql://")) and os.environ.get("REDIS_URL"):
        return
    script = str(ROOT / "scripts" / "services.py")
    os.execv(PYTHON, [PYTHON, script, "--", PYTHON, *sys.argv])


def setup_django(settings_module="config.settings"):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()


def migrate():
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def start(settings_module="config.settings"):
    """Servers, Django, schema, and the million orders (generated once per database)."""
    ensure_services()
    setup_django(settings_module)
    migrate()
    from bench import generate

    generate.ensure()


# --- timing ------------------------------------------------------------------------------------

def timeit(fn, repeat=5, setup=None):
    """Median and best wall time of `fn()` over `repeat` runs (setup() before each, not timed)."""
    times = []
    result = None
    for _ in range(repeat):
        if setup:
            setup()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return {"median": statistics.median(times), "best": min(times), "runs": len(times)}, result


def interleaved(fns, repeat=5, setup=None):
    """Time several alternatives in turn (A B A B …), so a noisy neighbour hurts both alike.
    Returns {name: {"median", "best", "runs"}}."""
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if setup:
                setup()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: {"median": statistics.median(t), "best": min(t), "runs": len(t)}
            for name, t in times.items()}


@contextmanager
def count_queries(using="default"):
    """Yields a list of (sql, seconds) for every query run inside the block."""
    from django.db import connections

    captured = []

    def wrapper(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            captured.append((sql, time.perf_counter() - t0))

    with connections[using].execute_wrapper(wrapper):
        yield captured


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


# --- results -----------------------------------------------------------------------------------

class Results:
    """Collects one script's figures: printed as they come, saved as JSON + a markdown section."""

    def __init__(self, name, title):
        self.name = name
        self.title = title
        self.rows = []     # (figure, value, note)
        self.blocks = []   # (caption, preformatted text)
        self.notes = []
        self.started = time.perf_counter()
        print(f"\n== {title} ==", flush=True)

    def row(self, figure, value, note=""):
        self.rows.append((figure, str(value), note))
        print(f"  {figure}: {value}" + (f"   ({note})" if note else ""), flush=True)

    def ratio(self, figure, numerator, denominator, target=None, higher_is_better=False):
        value = numerator / denominator if denominator else float("inf")
        if target is None:
            note = ""
        else:
            met = value >= target if higher_is_better else value <= target
            note = f"target {'≥' if higher_is_better else '≤'} {target}: {'met' if met else 'NOT met'}"
        self.row(figure, f"{value:.2f}×", note)
        return value

    def block(self, caption, text):
        self.blocks.append((caption, text.rstrip()))
        print(f"  -- {caption} --\n" + "\n".join("    " + line for line in text.rstrip().splitlines()),
              flush=True)

    def note(self, text):
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def markdown(self):
        lines = [f"## {self.title}", ""]
        if self.rows:
            lines += ["| figure | value | note |", "|---|---|---|"]
            lines += [f"| {f} | {v} | {n} |" for f, v, n in self.rows]
            lines.append("")
        for text in self.notes:
            lines += [f"- {text}"]
        if self.notes:
            lines.append("")
        for caption, text in self.blocks:
            lines += [f"{caption}:", "", "```", text, "```", ""]
        return "\n".join(lines)

    def save(self):
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        elapsed = time.perf_counter() - self.started
        self.row("script wall time", f"{elapsed:.0f} s")
        data = {"name": self.name, "title": self.title, "markdown": self.markdown(),
                "rows": self.rows}
        (OUT_DIR / f"{self.name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))


def explain(sql, params=None, analyze=True):
    from django.db import connection

    with connection.cursor() as cur:
        opts = "ANALYZE, BUFFERS, COSTS OFF" if analyze else "COSTS OFF"
        cur.execute(f"EXPLAIN ({opts}) {sql}", params)
        return "\n".join(row[0] for row in cur.fetchall())


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout
