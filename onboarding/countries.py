"""Countries and time zones for the setup pages. Names come from django-countries (ISO 3166-1,
translated: French and English, sorted by name in the page's language), default time zones from
the IANA database zoneinfo reads (its zone.tab), numbers from phonenumbers.

Hand-written here, because the libraries fall short:
- MAIN_TIME_ZONES: zone.tab lists a country's zones in tzdata's own order (often east to west),
  not by importance, so its first entry is an island or a border region for these;
- the calling step offers only the countries phonenumbers can validate a number for (ISO also
  lists Antarctica, Bouvet Island, Heard Island… where no number would ever be accepted)."""
import importlib.resources
import zoneinfo
from functools import lru_cache
from pathlib import Path

import phonenumbers
from django_countries import countries

# The capital's or most people's zone, where zone.tab's first entry for the country is not.
MAIN_TIME_ZONES = {
    "AU": "Australia/Sydney",       # not Lord Howe Island
    "BR": "America/Sao_Paulo",      # not Fernando de Noronha
    "CA": "America/Toronto",        # not Newfoundland
    "FM": "Pacific/Pohnpei",        # the capital, Palikir
    "RU": "Europe/Moscow",          # not Kaliningrad
    "UA": "Europe/Kyiv",            # not Crimea
    "UZ": "Asia/Tashkent",          # the capital
    "XK": "Europe/Belgrade",        # Kosovo has no zone of its own (settings.COUNTRIES_OVERRIDE)
}

# Areas of canonical IANA zones; the rest of zoneinfo's list is legacy aliases (US/Eastern,
# Etc/GMT+5, posixrules...) a person would not look for.
TIME_ZONE_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
                   "Europe", "Indian", "Pacific")


def country_name(code):
    """FR → France (Allemagne for DE in French): the name in the active language, or the code
    itself when it is no country."""
    return countries.name(code) or code


def country_choices():
    """(code, name) pairs of every country, sorted by name in the active language."""
    return [(code, name) for code, name in countries]


def calling_country_choices():
    """The countries phonenumbers knows the numbers of, sorted by name."""
    return [(code, name) for code, name in countries if code in phonenumbers.SUPPORTED_REGIONS]


@lru_cache(maxsize=1)
def _zone_tab():
    """{country: its first zone in zone.tab}, from the tz database zoneinfo uses: the system's
    (TZPATH), else the tzdata package's."""
    for folder in zoneinfo.TZPATH:
        if (path := Path(folder) / "zone.tab").exists():
            text = path.read_text(encoding="utf-8")
            break
    else:
        try:
            text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
        except (ModuleNotFoundError, FileNotFoundError):
            text = ""
    first = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone = line.split("\t")[:3]
            first.setdefault(code, zone)
    return first


def default_time_zone(country):
    return MAIN_TIME_ZONES.get(country) or _zone_tab().get(country) or "UTC"


@lru_cache(maxsize=1)
def time_zones():
    """The canonical IANA zones on this machine, plus UTC."""
    return frozenset(["UTC"] + [name for name in zoneinfo.available_timezones()
                                if name.split("/", 1)[0] in TIME_ZONE_AREAS and "/" in name])


@lru_cache(maxsize=1)
def time_zone_choices():
    """Grouped by area for the select: [("Europe", [("Europe/Paris", "Europe/Paris"), ...])]."""
    groups = {}
    for name in sorted(time_zones() - {"UTC"}):
        area, _, place = name.partition("/")
        groups.setdefault(area, []).append((name, name.replace("_", " ")))
    return [("UTC", "UTC")] + [(area, places) for area, places in sorted(groups.items())]
