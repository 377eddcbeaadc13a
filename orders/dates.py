"""Dates as the site writes them: Django's DATE_FORMAT and DATETIME_FORMAT of the active language,
with French's ordinal first day of the month ("1er décembre 2026", not "1 décembre 2026").
Templates: `{% load order_dates %}` then `|long_date`, `|long_datetime`."""
from django.template.defaultfilters import date as date_filter
from django.utils import translation


def _written(value, format_name):
    if not value:
        return ""
    text = date_filter(value, format_name)
    if value.day == 1 and text.startswith("1 ") and (translation.get_language() or "").startswith("fr"):
        return "1er " + text[2:]
    return text


def long_date(value):
    return _written(value, "DATE_FORMAT")


def long_datetime(value):
    """`value` in the current time zone already (templates convert it first)."""
    return _written(value, "DATETIME_FORMAT")
