"""Dates as pages and emails write them (orders/dates.py, `{% load order_dates %}`)."""
import datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation

from orders.dates import long_date

UTC = datetime.timezone.utc


@pytest.mark.parametrize("day, french, english", [
    (datetime.date(2026, 12, 1), "1er décembre 2026", "Dec. 1, 2026"),
    (datetime.date(2026, 12, 2), "2 décembre 2026", "Dec. 2, 2026"),
    (datetime.date(2027, 1, 11), "11 janvier 2027", "Jan. 11, 2027"),
    (datetime.date(2027, 1, 21), "21 janvier 2027", "Jan. 21, 2027"),
])
def test_french_writes_the_first_of_the_month_as_an_ordinal(day, french, english):
    with translation.override("fr"):
        assert long_date(day) == french
    with translation.override("en"):
        assert long_date(day) == english


def test_templates_write_datetimes_in_the_site_s_time_zone(settings):
    # 23:30 UTC on 30 November is 00:30 on 1 December in Paris.
    moment = datetime.datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    template = Template("{% load order_dates %}{{ when|long_datetime }} / {{ when|long_date }}")
    with translation.override("fr"):
        assert template.render(Context({"when": moment})) == "1er décembre 2026 00:30 / 1er décembre 2026"
    assert settings.TIME_ZONE == "Europe/Paris"
    assert moment.astimezone(ZoneInfo(settings.TIME_ZONE)).day == 1


def test_no_date_writes_nothing():
    assert Template("{% load order_dates %}[{{ none|long_date }}]").render(Context({"none": None})) == "[]"


def test_one_instant_in_two_zones_and_two_languages_is_written_for_each():
    """The written moments are kept per process: the same instant seen from another zone, or in
    the other language, must not get the first one's text."""
    from orders.dates import long_datetime

    instant = datetime.datetime(2026, 12, 1, 8, 5, tzinfo=UTC)
    paris, montreal = instant.astimezone(ZoneInfo("Europe/Paris")), instant.astimezone(
        ZoneInfo("America/Montreal"))
    with translation.override("fr"):
        assert long_datetime(paris) == "1er décembre 2026 09:05"
        assert long_datetime(montreal) == "1er décembre 2026 03:05"
        assert long_datetime(instant) == "1er décembre 2026 08:05"
    with translation.override("en"):
        assert long_datetime(paris) == "Dec. 1, 2026, 9:05 a.m."
