#!/usr/bin/env python
"""Known-vulnerability audit of every distribution installed in this interpreter: `make audit`.

pip-audit asks PyPI for each installed release's advisories at /pypi/<name>/<version>/json (or
asks OSV). Where this runs, only /pypi/<name>/json answers: the project's newest release with its
advisories, which PyPI takes from the same OSV feed. So:

- a distribution at its newest release gets that release's own advisory list, as pip-audit would;
- one held back (by our pin, by another package's pin, or by Python 3.11) cannot have its own
  list read here. It must be the newest release of its line (a patch release is where fixes
  land), and any advisory still open against the newest release counts against it too.

Exit status: 0 clean, 1 findings, 2 PyPI unreachable (loud: no audit is not a clean audit).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# A mirror that serves PyPI's JSON API can stand in for it.
PYPI = os.environ.get("AUDIT_PYPI_JSON", "https://pypi.org/pypi/{}/json")
PROJECT = "webex-onboarding"


class Unreachable(Exception):
    pass


def fetch_project(name, attempts=3):
    url = PYPI.format(name)
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            last = error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            last = error
        if attempt + 1 < attempts:
            time.sleep(2 ** attempt)
    raise Unreachable(f"{url}: {last}")


def installed():
    """{canonical name: version} of what this interpreter imports, the project itself left out."""
    found = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name != PROJECT:
            found.setdefault(name, dist.version)
    return found


def holders(name, newest):
    """The installed distributions whose requirements keep `name` below `newest`, for the report."""
    held_by = []
    for dist in metadata.distributions():
        for line in dist.requires or ():
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) == name and not req.specifier.contains(newest, prereleases=True):
                held_by.append(f"{dist.metadata['Name']} ({req})")
                break
    return held_by


def _runs_here(files, python):
    for file in files:
        spec = file.get("requires_python")
        try:
            if not spec or python in SpecifierSet(spec):
                return True
        except InvalidSpecifier:
            return True
    return False


def _open_advisories(project):
    return [v for v in project.get("vulnerabilities") or [] if not v.get("withdrawn")]


def _describe(advisory):
    names = ", ".join([advisory["id"], *advisory.get("aliases", [])])
    fixed = ", ".join(advisory.get("fixed_in") or []) or "no fixed release yet"
    return f"{names} (fixed in: {fixed}) {advisory.get('link', '')}".rstrip()


def audit_one(name, version, project, python):
    """(findings, note) for one installed distribution, from its PyPI project JSON."""
    if project is None:
        return [], "not on PyPI, not audited"
    newest = project["info"]["version"]
    advisories = _open_advisories(project)
    if Version(version) == Version(newest):
        return [f"{name} {version}: {_describe(a)}" for a in advisories], f"newest release, {len(advisories)} advisories"
    ours = Version(version)
    newer_in_line = []
    for release, files in project["releases"].items():
        try:
            candidate = Version(release)
        except InvalidVersion:
            continue
        live = [f for f in files if not f.get("yanked")]
        if (candidate > ours and not candidate.is_prerelease and candidate.release[:2] == ours.release[:2]
                and live and _runs_here(live, python)):
            newer_in_line.append(candidate)
    findings = [f"{name} {version}: {newest} (newest) has an open advisory that may reach this release too: "
                f"{_describe(a)}" for a in advisories]
    if newer_in_line:
        findings.append(f"{name} {version}: {max(newer_in_line)} is out on the same line; patch releases carry "
                        f"security fixes, upgrade")
    line = f"{ours.major}.{ours.minor}"
    note = f"held back below {newest}, " + (f"{max(newer_in_line)} is newer on its {line} line" if newer_in_line
                                             else f"newest of its {line} line")
    return findings, note


def main():
    python = ".".join(map(str, sys.version_info[:3]))
    dists = installed()
    try:
        with ThreadPoolExecutor(8) as pool:
            projects = dict(zip(dists, pool.map(fetch_project, dists)))
    except Unreachable as error:
        print(f"*** audit: PyPI's JSON API does not answer ({error}).\n"
              "*** Without it nothing was audited; check the network or proxy and run `make audit` again.",
              file=sys.stderr)
        return 2
    findings = []
    for name in sorted(dists):
        version = dists[name]
        project = projects[name]
        found, note = audit_one(name, version, project, python)
        newest = project and project["info"]["version"]
        held_by = holders(name, newest) if newest and Version(newest) != Version(version) else []
        print(f"{name:24} {version:14} {note}" + (f"; held by {', '.join(held_by)}" if held_by else ""))
        findings += found
    for line in findings:
        print(f"FINDING {line}")
    print(f"{len(dists)} distributions audited, {len(findings)} findings.")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
