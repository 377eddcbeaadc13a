"""Nudges before the rep has to call (provisioning/jobs.py): the deployment contact who has not
begun about a day after their email, and the installer and rep a few days before the setup
window closes. Each is sent once, at its time, in the order's language, with a working link."""
import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from provisioning import jobs, links
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink
from tests.factories import OrderFactory, RepFactory
from tests.helpers import at_once, local
from tests.wizard_helpers import as_sent, open_link, post_step, walk

START = datetime.date(2026, 12, 1)
EMAIL_HOUR = settings.DEPLOYMENT_EMAIL_HOUR


def emailed_at(moment, **fields):
    """An order whose deployment email the job sent at `moment`."""
    order = OrderFactory(requested_start_date=START, **fields)
    with time_machine.travel(moment, tick=False):
        assert jobs.send_due_deployment_emails().sent == [order.number]
    return order


def reminders_at(moment):
    with time_machine.travel(moment, tick=False):
        return jobs.send_setup_reminders()


def window_reminders_at(moment):
    with time_machine.travel(moment, tick=False):
        return jobs.send_window_reminders()


def link_in(email):
    return re.search(r"/setup/([\w-]{32,})/", as_sent(email)[1]).group(1)


SENT = local(START, EMAIL_HOUR, 1)


# --- The setup reminder ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_contact_is_reminded_once_about_twenty_hours_after_their_email(mailoutbox):
    order = emailed_at(SENT)
    first_link = links.live_link_id(order)
    assert reminders_at(SENT + datetime.timedelta(hours=19, minutes=59)) == []
    assert reminders_at(SENT + datetime.timedelta(hours=20)) == [order.number]
    assert reminders_at(SENT + datetime.timedelta(hours=21)) == []          # never twice

    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.SETUP_REMINDER)
    assert email.to == order.deployment_contact_email
    text = as_sent(email)[1]
    assert "an account representative will contact you" in text
    # A working link, re-issued: the first email's now says a newer one was sent.
    new = link_in(email)
    assert links.check_link(new).ok
    assert SetupLink.objects.get(pk=first_link).superseded_at is not None
    assert order.events.filter(kind=Event.Kind.REMINDED).count() == 1
    assert Provisioning.objects.get(pk=order.pk).reminded_at is not None


@pytest.mark.django_db
def test_no_reminder_once_the_setup_has_begun(client):
    order = emailed_at(SENT)
    with time_machine.travel(SENT + datetime.timedelta(hours=3), tick=False):
        open_link(client, order)
        post_step(client, order, "role", {"role": "partner"})   # the first POST: setup begun
    assert reminders_at(SENT + datetime.timedelta(hours=21)) == []
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.SETUP_REMINDER).exists()


@pytest.mark.django_db
def test_no_reminder_before_the_email_went_out_or_after_the_order_stalled(settings):
    stalled = emailed_at(SENT)
    order = OrderFactory(requested_start_date=START + datetime.timedelta(days=10))  # not emailed
    assert reminders_at(SENT + datetime.timedelta(hours=1)) == []
    with time_machine.travel(SENT + datetime.timedelta(days=1, minutes=1), tick=False):
        jobs.flag_stalled_provisioning()
    assert reminders_at(SENT + datetime.timedelta(days=1, hours=1)) == []
    assert not Provisioning.objects.filter(pk__in=[order.pk, stalled.pk],
                                           reminded_at__isnull=False).exists()


@pytest.mark.django_db
def test_the_reminder_speaks_the_order_s_language():
    order = emailed_at(SENT, language="fr")
    reminders_at(SENT + datetime.timedelta(hours=20))
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.SETUP_REMINDER)
    assert email.subject.startswith(f"Rappel : installez la commande Webex {order.number}")
    assert "un représentant de compte vous contactera" in as_sent(email)[1]


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_remind_each_contact_once():
    orders = [emailed_at(SENT) for _ in range(1)]
    orders += [OrderFactory(requested_start_date=START) for _ in range(9)]
    with time_machine.travel(SENT + datetime.timedelta(minutes=1), tick=False):
        jobs.send_due_deployment_emails()
    runs, errors = at_once(lambda _i: reminders_at(SENT + datetime.timedelta(hours=21)), 2)
    assert errors == []
    assert sorted(number for run in runs for number in run) == sorted(o.number for o in orders)
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.SETUP_REMINDER).count() == 10
    assert Event.objects.filter(kind=Event.Kind.REMINDED).count() == 10


# --- Before the setup window closes ------------------------------------------------------------

def closes(order):
    return Provisioning.objects.get(pk=order.pk).window_closes_at


@pytest.mark.django_db
@pytest.mark.parametrize("product, days", [("A-WX", 3), ("A-FLEX", 1)])
def test_the_contact_and_the_rep_are_told_days_before_the_window_closes(product, days, mailoutbox):
    rep = RepFactory(language="fr")
    order = emailed_at(SENT, product=product, account_rep=rep)
    before = closes(order) - datetime.timedelta(days=days)
    assert window_reminders_at(before - datetime.timedelta(minutes=1)) == []
    assert window_reminders_at(before) == [order.number]
    assert window_reminders_at(before + datetime.timedelta(hours=6)) == []   # once

    to_contact = OutboundEmail.objects.get(kind=OutboundEmail.Kind.WINDOW_REMINDER)
    assert to_contact.to == order.deployment_contact_email
    assert links.check_link(link_in(to_contact)).ok
    to_rep = OutboundEmail.objects.get(kind=OutboundEmail.Kind.REP_WINDOW_CLOSING)
    assert to_rep.to == rep.email and order.number in to_rep.body_text
    assert "bientôt" in to_rep.subject  # in the rep's language
    assert order.events.filter(kind=Event.Kind.WINDOW_REMINDED).count() == 1


@pytest.mark.django_db
def test_a_set_up_order_s_installer_is_sent_to_the_service_setup_not_a_new_link(client):
    order = emailed_at(SENT)
    with time_machine.travel(SENT + datetime.timedelta(hours=1), tick=False):
        open_link(client, order)
        walk(client, order, {"installer": {"choice": "self", "name": "Inès",
                                           "email": order.deployment_contact_email}})
    live = links.live_link_id(order)
    window_reminders_at(closes(order) - datetime.timedelta(days=3))
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.WINDOW_REMINDER)
    assert email.to == order.deployment_contact_email
    assert f"/orders/{order.number}/services/" in as_sent(email)[1]
    assert links.live_link_id(order) == live


@pytest.mark.django_db
def test_after_a_hand_over_the_customer_administrator_is_reminded(client):
    from tests.wizard_helpers import CUSTOMER_ADMIN_EMAIL

    order = emailed_at(SENT)
    with time_machine.travel(SENT + datetime.timedelta(hours=1), tick=False):
        open_link(client, order)
        walk(client, order, {"installer": {"choice": "customer", "name": "Inès",
                                           "email": order.deployment_contact_email}})
    window_reminders_at(closes(order) - datetime.timedelta(days=3))
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.WINDOW_REMINDER)
    assert email.to == CUSTOMER_ADMIN_EMAIL
    link = links.check_link(link_in(email)).link
    assert (link.purpose, link.recipient_email) == ("customer_admin", CUSTOMER_ADMIN_EMAIL)


@pytest.mark.django_db
def test_a_deployed_order_is_not_reminded_and_a_reopened_one_is_again():
    from provisioning import lifecycle
    from provisioning import services as rep_actions

    deployed = emailed_at(SENT)
    Provisioning.objects.filter(pk=deployed.pk).update(deployed_at=SENT, status="deployed")
    assert window_reminders_at(closes(deployed) - datetime.timedelta(days=2)) == []

    order = emailed_at(SENT)
    window_reminders_at(closes(order) - datetime.timedelta(days=3))
    with time_machine.travel(closes(order) + datetime.timedelta(days=1), tick=False):
        lifecycle.close_expired(closes(order) + datetime.timedelta(days=1))
        rep_actions.reopen(order)
    assert window_reminders_at(closes(order) - datetime.timedelta(days=3)) == [order.number]
    assert order.events.filter(kind=Event.Kind.WINDOW_REMINDED).count() == 2


@pytest.mark.django_db
def test_the_dashboard_counts_the_reminders_sent(client):
    rep = RepFactory()
    order = emailed_at(SENT, account_rep=rep)
    reminders_at(SENT + datetime.timedelta(hours=20))
    client.force_login(rep)
    with time_machine.travel(SENT + datetime.timedelta(hours=21), tick=False):
        client.force_login(rep)
        html = client.get("/reps/stalled/").content.decode()
    assert "1 reminder sent to partners" in html
    assert order.number  # the reminder is in its history
    assert Event.objects.filter(order=order, kind=Event.Kind.REMINDED).exists()


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_remind_each_window_once():
    rep = RepFactory()
    orders = [OrderFactory(requested_start_date=START, account_rep=rep) for _ in range(8)]
    with time_machine.travel(SENT, tick=False):
        jobs.send_due_deployment_emails()
    when = closes(orders[0]) - datetime.timedelta(days=3)
    runs, errors = at_once(lambda _i: window_reminders_at(when), 2)
    assert errors == []
    assert sorted(number for run in runs for number in run) == sorted(o.number for o in orders)
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.WINDOW_REMINDER).count() == 8
    # The rep is told of each order once: one list per run that found some.
    lists = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REP_WINDOW_CLOSING)
    assert 1 <= lists.count() <= 2
    assert sum(sum(o.number in email.body_text for o in orders) for email in lists) == 8
