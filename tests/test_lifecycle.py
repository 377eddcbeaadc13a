"""The provisioning lifecycle (provisioning/lifecycle.py): its transitions are declared once, every
function follows the table, and nothing else in the product writes the order's status or the
timestamps its jobs read."""
import re
from pathlib import Path

import pytest
from django.utils import timezone

from provisioning import lifecycle
from provisioning.lifecycle import TRANSITIONS, InvalidTransition
from provisioning.models import (Delivery, Event, OutboundEmail, Provisioning, SetupLink, SetupMode,
                                 Status)
from tests.factories import CUSTOMER_ADMIN_EMAIL, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]


def in_status(status, **facts):
    order = OrderFactory()
    Provisioning.objects.filter(pk=order.pk).update(status=status, **facts)
    return Provisioning.objects.select_related("order").get(pk=order.pk)


def queued(provisioning):
    """The order's deployment email written to the outbox (what the job does when it claims it):
    its id, for record_sent."""
    email = OutboundEmail.objects.create(kind=OutboundEmail.Kind.DEPLOYMENT, to="c@partner.example",
                                         subject="s", body_text="t", order_id=provisioning.pk)
    lifecycle.emails_queued({provisioning.pk: email.pk})
    return email.pk


def attempt(name, provisioning):
    """Run the per-order function of transition `name` on `provisioning`."""
    now = timezone.now()
    user = UserFactory()
    calls = {
        "rescheduled": lambda: lifecycle.reschedule(provisioning, provisioning.order),
        "email_taken_over": lambda: lifecycle.take_over_email(provisioning, now, Event.Kind.RESENT),
        "handed_over": lambda: lifecycle.hand_over(
            provisioning, link=None, installer=user, installer_name="Inès",
            installer_email=user.email, customer_admin_email=CUSTOMER_ADMIN_EMAIL,
            partner_org_created=False, new_admin=None, browser="b"),
        "set_up": lambda: lifecycle.set_up(
            provisioning, mode=SetupMode.SELF, actor=user, installer_name="Inès",
            installer_email=user.email, customer_admin_email=CUSTOMER_ADMIN_EMAIL,
            new_admin=None, browser="b", data={}),
        "reopened": lambda: lifecycle.reopen(provisioning, now),
        "deployed": lambda: lifecycle.deployed(provisioning, now, user, {}),
    }
    return calls[name]()


@pytest.mark.parametrize("name", ["rescheduled", "email_taken_over", "handed_over", "set_up",
                                  "reopened", "deployed"])
@pytest.mark.parametrize("status", list(Status))
def test_each_change_starts_only_from_the_statuses_the_table_allows(name, status):
    provisioning = in_status(status)
    allowed, ends_in = TRANSITIONS[name]
    if status in allowed:
        attempt(name, provisioning)
        assert Provisioning.objects.get(pk=provisioning.pk).status in ends_in
    else:
        with pytest.raises(InvalidTransition):
            attempt(name, provisioning)
        assert Provisioning.objects.get(pk=provisioning.pk).status == status


@pytest.mark.parametrize("status", list(Status))
def test_the_jobs_statements_follow_the_table(status):
    """The set-based versions: close, flag stalled, begin setup, record a delivered email."""
    now = timezone.now()
    closing = in_status(status, window_closes_at=now - timezone.timedelta(days=1))
    closed = closing.pk in lifecycle.close_expired(now)
    assert closed == (status in TRANSITIONS["closed"][0])

    stalling = in_status(status, stall_due_at=now - timezone.timedelta(hours=1), email_sent_at=now)
    assert (stalling.pk in lifecycle.flag_stalled(now)) == (status in TRANSITIONS["stalled"][0])

    beginning = in_status(status)
    assert lifecycle.begin_setup(beginning.order) == (status in TRANSITIONS["setup_begun"][0])

    reminding = in_status(status, email_sent_at=now - lifecycle.REMIND_AFTER)
    assert (reminding.pk in lifecycle.claim_setup_reminders(now)) == (
        status in TRANSITIONS["reminded"][0])
    closing_soon = in_status(status, window_reminder_due_at=now,
                             window_closes_at=now + timezone.timedelta(days=1))
    assert (closing_soon.pk in lifecycle.claim_window_reminders(now)) == (
        status in TRANSITIONS["window_reminded"][0])

    emailed = in_status(status)
    recorded = lifecycle.record_sent({queued(emailed): ("c@partner.example", "")}, now)
    sent = Provisioning.objects.get(pk=emailed.pk).email_sent_at is not None
    assert sent == (status in TRANSITIONS["email_sent"][0]) == (emailed.pk in recorded)


@pytest.mark.parametrize("status", list(Status))
def test_the_provider_s_word_on_the_deployment_email_follows_the_table(status):
    """A bounce is acted on (recorded, in the history, its rep told) only while the order waits
    for its setup; delivered and complaints are recorded whatever the status."""
    now = timezone.now()
    bouncing = in_status(status, email_message_id="<b@mg.example>", email_sent_at=now)
    provisioning, bounced = lifecycle.record_delivery("<b@mg.example>", Delivery.BOUNCED, "550", now)
    acted = status in TRANSITIONS["email_bounced"][0]
    assert bounced == acted and provisioning.pk == bouncing.pk
    assert (Provisioning.objects.get(pk=bouncing.pk).email_delivery == Delivery.BOUNCED) == acted
    assert Event.objects.filter(order_id=bouncing.pk, kind=Event.Kind.EMAIL_BOUNCED).exists() == acted

    delivering = in_status(status, email_message_id="<d@mg.example>", email_sent_at=now)
    assert lifecycle.record_delivery("<d@mg.example>", Delivery.DELIVERED, "", now)[1] is False
    assert (Provisioning.objects.get(pk=delivering.pk).email_delivery == Delivery.DELIVERED) == (
        status in TRANSITIONS["email_delivered"][0])
    assert Provisioning.objects.get(pk=delivering.pk).status == status


def test_a_lighter_word_never_replaces_a_heavier_one_and_a_new_email_forgets_the_old_one():
    now = timezone.now()
    provisioning = in_status(Status.EMAIL_SENT, email_message_id="<m@mg.example>", email_sent_at=now)
    assert lifecycle.record_delivery("<m@mg.example>", Delivery.BOUNCED, "550 no such user", now)[1]
    for word in (Delivery.DELIVERED, Delivery.COMPLAINED, Delivery.REJECTED, Delivery.BOUNCED):
        assert lifecycle.record_delivery("<m@mg.example>", word, "later", now)[1] is False
    provisioning.refresh_from_db()
    assert (provisioning.email_delivery, provisioning.email_delivery_reason) == (
        Delivery.BOUNCED, "550 no such user")
    lifecycle.take_over_email(provisioning, now, Event.Kind.RESENT)  # a rep's resend
    provisioning.refresh_from_db()
    assert (provisioning.email_message_id, provisioning.email_delivery) == ("", "")
    assert lifecycle.record_delivery("<m@mg.example>", Delivery.BOUNCED, "late", now) == (None, False)
    lifecycle.record_sent({queued(provisioning): ("c@partner.example", "<new@mg.example>")}, now)
    assert Provisioning.objects.get(pk=provisioning.pk).email_message_id == "<new@mg.example>"


def test_an_email_that_is_no_longer_the_order_s_current_one_is_not_recorded_as_its_email():
    """A rep resent (or changed the contact) while the previous email was on the wire: the
    previous one's acceptance or refusal says nothing of the order's email now."""
    now = timezone.now()
    provisioning = in_status(Status.EMAIL_SENT)
    previous = queued(provisioning)
    lifecycle.take_over_email(provisioning, now, Event.Kind.RESENT)
    current = queued(provisioning)
    assert lifecycle.record_sent({previous: ("c@partner.example", "<old@mg.example>")}, now) == {}
    lifecycle.record_failures({previous: "550 no such user"}, now)
    provisioning.refresh_from_db()
    assert (provisioning.email_sent_at, provisioning.email_message_id, provisioning.email_failed_at,
            provisioning.outbox_email_id) == (None, "", None, current)
    assert lifecycle.record_sent({current: ("c@partner.example", "")}, now) == {provisioning.pk: False}


def test_every_declared_status_is_a_status_and_every_status_can_be_reached():
    reached = set()
    for starts, ends in TRANSITIONS.values():
        assert starts <= set(Status) | {None} and ends <= set(Status)
        reached |= ends
    assert reached == set(Status)


# Writes of the lifecycle's columns: an assignment, a keyword in update()/create()/filter-update,
# or a SET in SQL. The lifecycle module and migrations may; nothing else in the product.
LIFECYCLE_COLUMNS = ["status", "email_sent_at", "email_next_attempt_at", "email_failed_at",
                     "email_attempts", "setup_begun_at", "set_up_at", "stalled_at", "stall_due_at",
                     "rep_notified_at", "last_contacted_at", "window_closes_at", "deployed_at",
                     "password_set_at", "handed_over_at", "setup_mode", "email_due_at",
                     "reminded_at", "window_reminder_due_at", "window_reminded_at",
                     "email_message_id", "email_delivery", "email_delivery_reason",
                     "email_delivery_at", "outbox_email", "outbox_email_id"]
WRITE = re.compile(r"provisioning\.(%s)\s*=[^=]|\bSET\b[^;\"]*\b(%s)\s*=" % (
    "|".join(LIFECYCLE_COLUMNS), "|".join(LIFECYCLE_COLUMNS)))


def test_nothing_but_the_lifecycle_writes_the_order_s_status_or_its_timestamps():
    writers = []
    for app in ("orders", "orgs", "provisioning", "onboarding", "config"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "lifecycle.py":
                continue
            text = path.read_text()
            for match in WRITE.finditer(text):
                writers.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
            for call in re.finditer(r"Provisioning\.objects[\s\S]{0,300}?\.update\(([^)]*)\)", text):
                if any(re.search(rf"\b{column}\s*=", call.group(1)) for column in LIFECYCLE_COLUMNS):
                    writers.append(f"{path.relative_to(ROOT)}: {call.group(0)[:80]}")
    assert writers == []


def test_the_wizard_s_hand_over_facts_are_columns():
    order = OrderFactory()
    provisioning = Provisioning.objects.get(pk=order.pk)
    link = SetupLink.objects.create(order=order, token_hash="h" * 64, recipient_email="a@b.example",
                                    purpose=SetupLink.Purpose.DEPLOYMENT)
    lifecycle.hand_over(provisioning, link=link, installer=None, installer_name="Inès",
                        installer_email="ines@partner.example",
                        customer_admin_email=CUSTOMER_ADMIN_EMAIL, partner_org_created=True,
                        new_admin=None, browser="abc")
    provisioning.refresh_from_db()
    assert (provisioning.handover_link_id, provisioning.customer_admin_email,
            provisioning.confirmed_in_browser, provisioning.setup_mode) == (
        link.pk, CUSTOMER_ADMIN_EMAIL, "abc", SetupMode.CUSTOMER)
    assert provisioning.handed_over_at is not None
