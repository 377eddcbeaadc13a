"""Dates as the site writes them: Django's DATE_FORMAT and DATETIME_FORMAT of the active language,
with French's ordinal first day of the month ("1er décembre 2026", not "1 décembre 2026").
Templates: `{% load order_dates %}` then `|long_date`, `|long_datetime`."""
import datetime
import functools

from django.template.defaultfilters import date as date_filter
from django.utils import translation


def _written(value, format_name, language):
    if not value:
        return ""
    text = date_filter(value, format_name)
    if value.day == 1 and text.startswith("1 ") and (language or "").startswith("fr"):
        return "1er " + text[2:]
    return text


@functools.lru_cache(maxsize=4096)
def _written_day(day, language):
    # A page lists the same few days again and again (the dashboard: a hundred dates a page),
    # and writing one costs a format string parsed and month names translated.
    return _written(day, "DATE_FORMAT", language)


def long_date(value, language=None):
    """`language`: the active one when not given (a page writing many dates looks it up once)."""
    if not value:
        return ""
    day = value.date() if isinstance(value, datetime.datetime) else value
    return _written_day(day, language or translation.get_language())


@functools.lru_cache(maxsize=4096)
def _written_moment(wall_clock, fold, zone, language):
    # The dashboard writes fifty moments a page, the same ones at every reload. The key holds
    # the wall clock and its zone, not the instant: one instant reads differently in two zones.
    return _written(wall_clock.replace(tzinfo=zone, fold=fold), "DATETIME_FORMAT", language)


def long_datetime(value, language=None):
    """`value` in the current time zone already (templates convert it first)."""
    language = language or translation.get_language()
    if isinstance(value, datetime.datetime):
        return _written_moment(value.replace(tzinfo=None), value.fold, value.tzinfo, language)
    return _written(value, "DATETIME_FORMAT", language)
