"""Stalled provisioning: flagged once one day after the start date; the rep is told once."""
import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command

from provisioning import jobs, selectors
from provisioning.models import Event, OutboundEmail, Provisioning, Status
from tests.factories import EmailedOrderFactory, RepFactory
from tests.helpers import at_once, local


START = datetime.date(2026, 12, 1)


DAY_AFTER = local(START + datetime.timedelta(days=1), settings.DEPLOYMENT_EMAIL_HOUR)


def flag_at(moment):
    with time_machine.travel(moment, tick=False):
        return jobs.flag_stalled_provisioning()


@pytest.mark.django_db
def test_an_order_not_set_up_one_day_after_its_start_date_is_flagged_once():
    order = EmailedOrderFactory(requested_start_date=START)

    assert flag_at(DAY_AFTER - datetime.timedelta(minutes=1)).flagged == []
    assert flag_at(DAY_AFTER).flagged == [order.number]
    assert flag_at(DAY_AFTER + datetime.timedelta(hours=1)).flagged == []  # never twice

    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.stalled_at == DAY_AFTER and provisioning.rep_notified_at == DAY_AFTER
    assert Event.objects.filter(order=order, kind=Event.Kind.STALLED).count() == 1
    assert Event.objects.filter(order=order, kind=Event.Kind.REP_NOTIFIED).count() == 1


@pytest.mark.django_db
def test_each_rep_gets_one_email_listing_their_newly_stalled_orders():
    anne, bruno = RepFactory(email="anne@vendor.example"), RepFactory(email="bruno@vendor.example")
    annes = [EmailedOrderFactory(requested_start_date=START, account_rep=anne) for _ in range(2)]
    brunos = EmailedOrderFactory(requested_start_date=START - datetime.timedelta(days=3), account_rep=bruno)

    run = flag_at(DAY_AFTER)

    assert run.reps_emailed == 2
    emails = {e.to: e for e in OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REP_STALLED)}
    assert set(emails) == {"anne@vendor.example", "bruno@vendor.example"}
    assert emails["anne@vendor.example"].subject == "2 orders are stalled: contact the partners"
    assert all(o.number in emails["anne@vendor.example"].body_text for o in annes)
    assert brunos.number not in emails["anne@vendor.example"].body_text
    assert f"{settings.SITE_URL}/reps/stalled/" in emails["bruno@vendor.example"].body_text

    flag_at(DAY_AFTER + datetime.timedelta(days=1))  # nothing new: no new email
    assert OutboundEmail.objects.count() == 2


@pytest.mark.django_db
def test_a_french_rep_gets_the_stall_email_in_french_whatever_the_order_language():
    claire = RepFactory(email="claire@vendor.example", language="fr")
    anne = RepFactory(email="anne@vendor.example")
    EmailedOrderFactory(requested_start_date=START, account_rep=claire, language="en")
    EmailedOrderFactory(requested_start_date=START, account_rep=anne, language="fr")

    flag_at(DAY_AFTER)

    emails = {e.to: e for e in OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REP_STALLED)}
    assert emails["claire@vendor.example"].subject == "1 commande est bloquée : contactez le partenaire"
    assert emails["anne@vendor.example"].subject == "1 order is stalled: contact the partner"


@pytest.mark.django_db
def test_set_up_closed_and_deployed_orders_are_not_flagged():
    set_up = EmailedOrderFactory(requested_start_date=START)
    closed = EmailedOrderFactory(requested_start_date=START)
    Provisioning.objects.filter(pk=set_up.pk).update(status=Status.SET_UP, set_up_at=local(START, 14))
    Provisioning.objects.filter(pk=closed.pk).update(status=Status.CLOSED)

    assert flag_at(DAY_AFTER).flagged == []
    assert OutboundEmail.objects.count() == 0


@pytest.mark.django_db
def test_an_order_set_up_later_leaves_the_stalled_list_but_keeps_its_history():
    rep = RepFactory()
    late = EmailedOrderFactory(requested_start_date=START, account_rep=rep)
    still = EmailedOrderFactory(requested_start_date=START, account_rep=rep)
    flag_at(DAY_AFTER)
    assert {p.order_id for p in selectors.stalled_orders(rep)} == {late.pk, still.pk}

    Provisioning.objects.filter(pk=late.pk).update(status=Status.SET_UP, set_up_at=DAY_AFTER)

    assert [p.order_id for p in selectors.stalled_orders(rep)] == [still.pk]
    assert Provisioning.objects.get(pk=late.pk).stalled_at == DAY_AFTER
    assert Event.objects.filter(order=late, kind=Event.Kind.STALLED).exists()


@pytest.mark.django_db
def test_the_flag_job_costs_a_few_queries_per_rep_not_per_order(django_assert_max_num_queries):
    reps = [RepFactory(), RepFactory()]
    for n in range(30):
        EmailedOrderFactory(requested_start_date=START, account_rep=reps[n % 2])
    # update…returning, load orders, one outbox insert per rep, one history insert, savepoints.
    with django_assert_max_num_queries(2 + 2 + 1 + 2):
        run = flag_at(DAY_AFTER)
    assert len(run.flagged) == 30
    with django_assert_max_num_queries(3):  # an idle run: the update finds nothing
        flag_at(DAY_AFTER + datetime.timedelta(minutes=5))


@pytest.mark.django_db
def test_the_command_flags_and_says_so(capsys):
    order = EmailedOrderFactory(requested_start_date=START)
    with time_machine.travel(DAY_AFTER, tick=False):
        call_command("flag_stalled_provisioning")
    out = capsys.readouterr().out
    assert f"stalled  {order.number}" in out and "1 order(s) flagged stalled, 1 rep email(s) queued." in out


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_flag_runs_flag_and_notify_once():
    Group.objects.get_or_create(name=settings.REPS_GROUP)  # transactional tests flush it
    rep = RepFactory()
    orders = [EmailedOrderFactory(requested_start_date=START, account_rep=rep) for _ in range(20)]
    with time_machine.travel(DAY_AFTER, tick=False):
        runs, errors = at_once(lambda i: jobs.flag_stalled_provisioning(DAY_AFTER), 2)

    assert not errors
    assert sorted(runs[0].flagged + runs[1].flagged) == sorted(o.number for o in orders)
    assert Event.objects.filter(kind=Event.Kind.STALLED).count() == 20
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REP_STALLED).count() == 1


# --- The outbox sweep delivers the rep's email -------------------------------------------------

@pytest.mark.django_db
def test_the_sweep_delivers_the_rep_email_once(mailoutbox):
    order = EmailedOrderFactory(requested_start_date=START)
    flag_at(DAY_AFTER)
    with time_machine.travel(DAY_AFTER + datetime.timedelta(minutes=1), tick=False):
        assert jobs.send_pending_emails() == {"sent": 1, "failed": 0}
        assert jobs.send_pending_emails() == {"sent": 0, "failed": 0}
    assert len(mailoutbox) == 1 and order.number in mailoutbox[0].body
    assert mailoutbox[0].to == [order.account_rep.email]


@pytest.mark.django_db
def test_a_failing_outbox_email_is_retried_with_backoff_and_visible(settings, mailoutbox):
    EmailedOrderFactory(requested_start_date=START)
    flag_at(DAY_AFTER)
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"
    with time_machine.travel(DAY_AFTER, tick=False):
        assert jobs.send_pending_emails() == {"sent": 0, "failed": 1}
        assert jobs.send_pending_emails() == {"sent": 0, "failed": 0}  # waits for its backoff
    email = OutboundEmail.objects.get()
    assert email.attempts == 1 and "421" in email.last_error and email.sent_at is None
    assert email.next_attempt_at == DAY_AFTER + datetime.timedelta(minutes=1)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(DAY_AFTER + datetime.timedelta(minutes=1), tick=False):
        assert jobs.send_pending_emails() == {"sent": 1, "failed": 0}
    assert len(mailoutbox) == 1


# --- The stall clock runs from the later of the email hour and the email's delivery ---------------

def send_at(moment):
    """The deployment job and the outbox's sweep (which retries a refused email) at `moment`."""
    with time_machine.travel(moment, tick=False):
        run = jobs.send_due_deployment_emails()
        return run, jobs.send_pending_emails()


@pytest.mark.django_db
def test_an_order_imported_after_its_start_date_stalls_a_day_after_its_email(mailoutbox):
    from tests.factories import OrderFactory

    imported_at = local(START + datetime.timedelta(days=5), 14)
    with time_machine.travel(imported_at, tick=False):
        order = OrderFactory(requested_start_date=START)
    assert send_at(imported_at + datetime.timedelta(minutes=2))[0].sent == [order.number]
    # Minutes, hours later: not stalled, the partner has had their email for less than a day.
    assert flag_at(imported_at + datetime.timedelta(minutes=10)).flagged == []
    assert flag_at(imported_at + datetime.timedelta(hours=23)).flagged == []
    assert flag_at(imported_at + datetime.timedelta(days=1, minutes=3)).flagged == [order.number]
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REP_STALLED).count() == 1


@pytest.mark.django_db
def test_an_email_that_failed_for_two_days_starts_the_clock_when_it_is_delivered(settings,
                                                                                  mailoutbox):
    from tests.factories import OrderFactory

    order = OrderFactory(requested_start_date=START)
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"
    email_hour = local(START, settings.DEPLOYMENT_EMAIL_HOUR)
    for hours in range(0, 48, 6):
        send_at(email_hour + datetime.timedelta(hours=hours, minutes=1))
    assert Provisioning.objects.get(pk=order.pk).email_sent_at is None
    # Undelivered: the day has not started to run (the failing-emails panel shows the order).
    assert flag_at(DAY_AFTER + datetime.timedelta(hours=1)).flagged == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    delivered = email_hour + datetime.timedelta(days=2, hours=1)
    assert send_at(delivered)[1]["sent"] == 1
    assert Provisioning.objects.get(pk=order.pk).email_sent_at == delivered
    assert flag_at(delivered + datetime.timedelta(minutes=5)).flagged == []
    assert flag_at(delivered + datetime.timedelta(days=1, minutes=1)).flagged == [order.number]


@pytest.mark.django_db
def test_an_email_delivered_on_time_keeps_the_usual_day(mailoutbox):
    from tests.factories import OrderFactory

    order = OrderFactory(requested_start_date=START)
    send_at(local(START, settings.DEPLOYMENT_EMAIL_HOUR, 1))
    assert Provisioning.objects.get(pk=order.pk).stall_due_at == DAY_AFTER + datetime.timedelta(minutes=1)
    assert flag_at(DAY_AFTER + datetime.timedelta(minutes=1)).flagged == [order.number]


# --- A rep's actions on an order handed to the customer -----------------------------------------

@pytest.fixture
def handed_over(client):
    """An order the partner handed to the customer, stalled since, and its rep signed in."""
    from django.test import Client

    from tests.factories import OrderFactory
    from tests.wizard_helpers import DEFAULT_ANSWERS, open_link, walk

    order = OrderFactory()
    partner = Client()
    open_link(partner, order)
    walk(partner, order, {"installer": {**DEFAULT_ANSWERS["installer"], "choice": "customer",
                                        "email": order.deployment_contact_email}})
    Provisioning.objects.filter(pk=order.pk).update(stalled_at=DAY_AFTER)
    client.force_login(order.account_rep)
    return order


def live_link(order):
    from provisioning.models import SetupLink

    return SetupLink.objects.get(order=order, superseded_at__isnull=True)


@pytest.mark.django_db
def test_resend_on_a_handed_over_order_resends_the_customer_admin_s_link(client, handed_over):
    from tests.wizard_helpers import CUSTOMER_ADMIN_EMAIL

    order = handed_over
    before = live_link(order)
    client.post(f"/reps/orders/{order.number}/resend/")
    after = live_link(order)
    assert after.pk != before.pk
    assert (after.purpose, after.recipient_email) == ("customer_admin", CUSTOMER_ADMIN_EMAIL)
    emails = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.CUSTOMER_ADMIN).order_by("pk")
    assert [e.to for e in emails] == [CUSTOMER_ADMIN_EMAIL, CUSTOMER_ADMIN_EMAIL]
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.setup_mode == "customer" and provisioning.handed_over_at is not None
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DEPLOYMENT).exists()


@pytest.mark.django_db
def test_change_contact_on_a_handed_over_order_moves_the_customer_admin_s_invitation(
        client, handed_over, mailoutbox):
    from tests.wizard_helpers import CUSTOMER_ADMIN_EMAIL

    order = handed_over
    client.post(f"/reps/orders/{order.number}/contact/", {"email": "dana@customer.example"})
    link = live_link(order)
    assert (link.purpose, link.recipient_email) == ("customer_admin", "dana@customer.example")
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.customer_admin_email == "dana@customer.example"
    assert provisioning.setup_mode == "customer"       # the hand-over stands
    order.refresh_from_db()
    assert order.deployment_contact_email == "webex-deploy@partner.example"  # the partner's unchanged
    notice = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CONTACT_CHANGED_NOTICE)
    assert notice.to == CUSTOMER_ADMIN_EMAIL
    # No link of the partner's is live again: they cannot take the customer's setup back.
    from provisioning.models import SetupLink

    assert not SetupLink.objects.filter(order=order, superseded_at__isnull=True,
                                        purpose=SetupLink.Purpose.DEPLOYMENT).exists()
