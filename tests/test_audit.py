"""`make audit` (scripts/audit.py): what it reports from PyPI's project JSON, without the network."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

PY = "3.11.7"


def project(newest, releases, advisories=()):
    return {
        "info": {"version": newest},
        "releases": {v: files for v, files in releases.items()},
        "vulnerabilities": list(advisories),
    }


def wheel(requires_python=">=3.9", yanked=False):
    return [{"requires_python": requires_python, "yanked": yanked}]


ADVISORY = {"id": "PYSEC-2026-1", "aliases": ["CVE-2026-0001"], "fixed_in": ["2.0.1"],
            "link": "https://osv.dev/vulnerability/PYSEC-2026-1", "withdrawn": None}


def test_the_newest_release_with_an_open_advisory_is_a_finding_naming_it():
    findings, _ = audit.audit_one("lib", "2.0.0", project("2.0.0", {"2.0.0": wheel()}, [ADVISORY]), PY)
    assert len(findings) == 1
    assert "PYSEC-2026-1" in findings[0] and "CVE-2026-0001" in findings[0] and "2.0.1" in findings[0]


def test_a_withdrawn_advisory_is_not_a_finding():
    withdrawn = {**ADVISORY, "withdrawn": "2026-02-01T00:00:00Z"}
    findings, note = audit.audit_one("lib", "2.0.0", project("2.0.0", {"2.0.0": wheel()}, [withdrawn]), PY)
    assert findings == [] and note == "newest release, 0 advisories"


def test_a_held_back_release_with_a_newer_patch_on_its_line_is_a_finding():
    data = project("3.0.0", {"2.1.0": wheel(), "2.1.4": wheel(), "3.0.0": wheel()})
    findings, note = audit.audit_one("lib", "2.1.0", data, PY)
    assert findings and "2.1.4" in findings[0]
    assert "2.1.4 is newer on its 2.1 line" in note


@pytest.mark.parametrize("files", [wheel(">=3.12"), wheel(yanked=True)], ids=["needs-newer-python", "yanked"])
def test_a_newer_patch_that_cannot_be_installed_here_does_not_count(files):
    data = project("3.0.0", {"2.1.0": wheel(), "2.1.4": files, "3.0.0": wheel()})
    findings, note = audit.audit_one("lib", "2.1.0", data, PY)
    assert findings == [] and note == "held back below 3.0.0, newest of its 2.1 line"


def test_a_held_back_release_carries_the_advisories_still_open_on_the_newest():
    data = project("3.0.0", {"2.1.0": wheel(), "3.0.0": wheel()}, [{**ADVISORY, "fixed_in": []}])
    findings, _ = audit.audit_one("lib", "2.1.0", data, PY)
    assert len(findings) == 1 and "PYSEC-2026-1" in findings[0] and "no fixed release yet" in findings[0]


def test_a_distribution_pypi_does_not_know_is_reported_but_not_a_finding():
    assert audit.audit_one("in-house", "1.0", None, PY) == ([], "not on PyPI, not audited")


def test_the_audit_fails_loudly_when_pypi_does_not_answer():
    # A closed port on loopback stands for a network that does not reach PyPI.
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "audit.py")], capture_output=True, text=True,
                         timeout=120, env={"AUDIT_PYPI_JSON": "http://127.0.0.1:9/{}/json", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 2
    assert "nothing was audited" in run.stderr and "127.0.0.1:9" in run.stderr


def test_the_report_names_what_holds_a_release_back():
    # pytest itself is installed here and needs pluggy below 2.
    assert any(h.startswith("pytest ") for h in audit.holders("pluggy", "99.0"))
