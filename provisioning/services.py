"""Every provisioning state change is one function here: it checks the current state, changes
it in one transaction, appends the history row and schedules side effects on commit."""
import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from provisioning.models import Event, Provisioning


def local_time_on(day, hour):
    """An aware datetime for `day` at `hour` in the site's time zone (DST-safe)."""
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def schedule_for(order):
    """The provisioning timestamps an order's start date implies."""
    email_due = local_time_on(order.requested_start_date, settings.DEPLOYMENT_EMAIL_HOUR)
    stall_due = local_time_on(order.requested_start_date + datetime.timedelta(days=1),
                              settings.DEPLOYMENT_EMAIL_HOUR)
    days = settings.SETUP_WINDOW_DAYS_FLEX if order.product == "A-FLEX" else settings.SETUP_WINDOW_DAYS
    window = local_time_on(order.requested_start_date + datetime.timedelta(days=days), 23) \
        .replace(minute=59, second=59)
    return {"email_due_at": email_due, "email_next_attempt_at": email_due,
            "stall_due_at": stall_due, "window_closes_at": window}


@transaction.atomic
def create_provisioning(order, actor=None):
    """The provisioning row of a newly imported order, and its 'imported' history entry."""
    provisioning = Provisioning.objects.create(order=order, **schedule_for(order))
    Event.objects.create(order=order, kind=Event.Kind.IMPORTED, actor=actor)
    return provisioning
