"""`make bench`: every benchmark in turn, then bench/RESULTS.md.

    make bench                                   # starts throwaway PostgreSQL + Redis
    .venv/bin/python bench/run_all.py [--only jobs,email]   # or: make bench ONLY=wizard

Order: the million-order generator, the beat jobs, the dashboard and admin pages, the wizard under
gunicorn, email throughput with Celery workers, the import (bench/bench_import.py). Each runs as its
own process (each also runs alone), writes var/bench/<name>.json, and this script gathers them
with the machine they ran on.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

BENCHES = [
    ("generate", "bench/generate.py", 600),
    ("jobs", "bench/bench_jobs.py", 600),
    ("profile", "bench/profile_jobs.py", 300),
    ("pages", "bench/bench_pages.py", 600),
    ("wizard", "bench/bench_wizard.py", 600),
    ("email", "bench/bench_email.py", 900),
    ("import", "bench/bench_import.py", 600),
    ("metrics", "bench/bench_metrics.py", 600),
]
RESULTS = common.ROOT / "bench" / "RESULTS.md"
NOTES = common.ROOT / "bench" / "NOTES.md"


def machine():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    try:
        import redis

        redis_version = redis.Redis.from_url(os.environ["REDIS_URL"]).info()["redis_version"]
    except Exception as exc:  # informative only
        redis_version = f"unknown ({type(exc).__name__})"
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=common.ROOT).stdout.strip()
    return {
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": cpu, "free": free, "python": platform.python_version(), "postgresql": pg,
        "redis": redis_version, "commit": commit,
    }


def run_bench(name, script, timeout):
    path = common.ROOT / script
    if not path.exists():
        return {"name": name, "status": "missing", "output": f"{script} does not exist yet"}
    json_path = common.OUT_DIR / f"{name}.json"
    before = json_path.stat().st_mtime if json_path.exists() else None
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([common.PYTHON, str(path)], cwd=common.ROOT, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output, code = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        code = f"timeout after {timeout} s"
    elapsed = time.perf_counter() - t0
    print(output, end="" if output.endswith("\n") else "\n", flush=True)
    fresh = json_path.exists() and json_path.stat().st_mtime != before
    data = json.loads(json_path.read_text()) if fresh else None
    return {"name": name, "status": "ok" if code == 0 else f"failed ({code})", "output": output,
            "data": data, "elapsed": elapsed}


SECTION_MARK = "<!-- bench:{} -->"


def _title(script):
    """The start of the section heading a bench script writes (its common.Results title)."""
    match = re.search(r'common\.Results\(\s*"[^"]+",\s*f?"([^"{]+)', (common.ROOT / script).read_text())
    return f"## {match.group(1)}" if match else None


KEPT = re.compile(r"^Kept from the previous results \(([^)]*)\): (.*)$", re.M)


def previous_sections():
    """{bench name: its section in bench/RESULTS.md as it stands}, and {bench name: the line
    saying which run produced it}: a run of some benches (--only) keeps the others' figures."""
    if not RESULTS.exists():
        return {}, {}
    text = RESULTS.read_text()
    produced = next((line for line in text.splitlines() if line.startswith("Produced by")), "")
    provenance = {name: produced for name, _, _ in BENCHES}
    for names, line in KEPT.findall(text):
        provenance.update({name.strip(): line for name in names.split(",")})
    sections = {}
    for name, script, _ in BENCHES:
        mark = SECTION_MARK.format(name)
        heading = _title(script) if (common.ROOT / script).exists() else None
        if mark in text:
            start = text.index(mark)
        elif heading and f"\n{heading}" in text:
            start = text.index(f"\n{heading}") + 1
        else:
            continue
        body_start = text.index("\n", start) + 1 if text.startswith(mark, start) else start
        following = [i for i in (text.find("\n<!-- bench:", body_start),
                                 text.find("\n## ", text.index("\n", body_start) + 1))
                     if i != -1]
        end = min(following) if following else len(text)
        sections[name] = text[body_start:end].strip() + "\n"
    return sections, provenance


def write_results(runs, info, command, total, keep=False):
    old, provenance = previous_sections() if keep else ({}, {})
    ran = {run["name"] for run in runs}
    kept = [name for name, _, _ in BENCHES if name not in ran and name in old]
    lines = [
        "# Benchmark results", "",
        f"Produced by `{command}` on {info['date']} (commit {info['commit']}), "
        f"total {total / 60:.1f} min. Ratios are measured in the same run against a baseline on the "
        "same machine (shared and noisy: compare ratios, not absolute times).", "",
    ]
    for line in dict.fromkeys(provenance[name] for name in kept):
        names = ", ".join(name for name in kept if provenance[name] == line)
        lines += [f"Kept from the previous results ({names}): {line}", ""]
    lines += [
        "## Machine", "",
        f"- `nproc`: {info['nproc']} ({info['cpu']})",
        f"- Python {info['python']}, PostgreSQL {info['postgresql']}, Redis {info['redis']}",
        "- PostgreSQL started by scripts/services.py (fsync=off, synchronous_commit=off, as in tests)",
        f"- load average (1, 5, 15 min) at the start: {info['load_start']}; at the end: {info['load']} "
        "(other sessions share these cores)",
        "- `free -h`:", "", "```", info["free"], "```", "",
    ]
    if NOTES.exists():  # the hand-written reading of the figures: targets, causes, profiles
        lines += [NOTES.read_text().strip(), ""]
    runs_by_name = {run["name"]: run for run in runs}
    for name, _, _ in BENCHES:
        run = runs_by_name.get(name)
        if run is None:
            if name in old:
                lines += [SECTION_MARK.format(name), old[name]]
            continue
        lines.append(SECTION_MARK.format(name))
        if run.get("data"):
            lines.append(run["data"]["markdown"])
            if run["status"] != "ok":
                lines += [f"**{run['name']}: {run['status']}**", ""]
        else:
            tail = "\n".join(run["output"].strip().splitlines()[-40:])
            lines += [f"## {run['name']} ({run['status']})", "", "```", tail, "```", ""]
    RESULTS.write_text("\n".join(lines).rstrip() + "\n")
    print(f"\nwrote {RESULTS.relative_to(common.ROOT)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names: " + ",".join(n for n, _, _ in BENCHES)
                        + " (the other sections of bench/RESULTS.md are kept as they are)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args()
    common.ensure_services()
    common.setup_django()
    common.migrate()
    load_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    wanted = set(args.only.split(",")) if args.only else None
    t0 = time.perf_counter()
    runs = []
    for name, script, timeout in BENCHES:
        if wanted and name not in wanted:
            continue
        print(f"\n### {name}: {script}", flush=True)
        runs.append(run_bench(name, script, timeout))
    total = time.perf_counter() - t0
    print("\n### summary")
    for run in runs:
        print(f"  {run['name']}: {run['status']}" +
              (f" in {run['elapsed']:.0f} s" if "elapsed" in run else ""))
    command = "make bench" if not args.only else f"bench/run_all.py --only {args.only}"
    if not args.no_write:
        write_results(runs, dict(machine(), load_start=load_start), command, total,
                      keep=bool(args.only))
    return 0 if all(r["status"] in ("ok", "missing") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
