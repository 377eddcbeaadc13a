"""Delivery feedback (issue 16): the provider's message id kept for every email sent; its signed
tracking webhook (anymail's Mailgun view, real signature checking, Mailgun-shaped payloads:
tests/esp.py) recording delivered, complained, bounced and rejected with the reason; a bounced
deployment email on the rep dashboard and in admin at once, Change contact one click away, its
rep emailed once; nothing sent blindly to an address that bounced until a rep acts."""
import base64
import datetime
import re

import pytest
import time_machine
from django.test import Client

from provisioning import delivery, jobs, outbox
from provisioning.models import (BouncedAddress, Delivery, DeliveryEvent, Event, OutboundEmail,
                                 Provisioning)
from tests import esp
from tests.factories import OrderFactory, RepFactory, UserFactory
from tests.helpers import at_once, local, token_of

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 10)
NOW = local(TODAY, 9, 5)
CONTACT = "webex-deploy@partner.example"
DASHBOARD = "/reps/stalled/"


@pytest.fixture
def clock(settings, mailoutbox):
    """Sending through the provider (anymail's test backend, Mailgun-shaped ids), the clock at
    NOW, the morning of the start date."""
    settings.EMAIL_BACKEND = esp.BACKEND
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rep(clock):
    return RepFactory(email="anne@vendor.example")


def sent_order(rep, number="CCW-40000001", **kwargs):
    """An order whose deployment email the provider accepted at the job's run."""
    order = OrderFactory(requested_start_date=TODAY, account_rep=rep, number=number, **kwargs)
    assert jobs.send_due_deployment_emails(NOW).sent == [order.number]
    return order


@pytest.fixture
def order(rep):
    return sent_order(rep)


def message_id(order):
    return Provisioning.objects.get(pk=order.pk).email_message_id


def rep_emails(order):
    return OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.REP_EMAIL_BOUNCED)


def failing_panel(client):
    # The page with the tags inside a line of text (an address that may wrap) taken out.
    page = re.sub(r"<(wbr|/?span[^>]*)>", "", client.get(DASHBOARD).content.decode())
    if 'id="failing-title"' not in page:
        return ""
    start = page.index('id="failing-title"')
    return page[start:page.index("</section>", start)]


# --- The provider's message id ------------------------------------------------------------------

def test_the_deployment_email_and_every_outbox_email_keep_the_provider_s_message_id(order, mailoutbox):
    deployment = mailoutbox[0]
    assert message_id(order) == deployment.anymail_status.message_id
    assert re.fullmatch(r"<\d{14}\.1\.[0-9A-F]{16}@mg\.onboarding\.example>", message_id(order))
    sent = Event.objects.get(order=order, kind=Event.Kind.EMAIL_SENT)
    assert sent.data == {"to": CONTACT, "message_id": message_id(order)}

    email = outbox.enqueue(OutboundEmail.Kind.CONTACT_CHANGED_NOTICE, "old@partner.example",
                           "contact-changed-notice", {"order": order, "rep_email": "anne@vendor.example"},
                           order=order)
    assert outbox.deliver(email.pk)
    email.refresh_from_db()
    assert email.message_id == mailoutbox[-1].anymail_status.message_id != message_id(order)


def test_over_smtp_there_is_no_provider_id_and_nothing_else_changes(rep, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    order = sent_order(rep)
    assert message_id(order) == ""
    assert Event.objects.get(order=order, kind=Event.Kind.EMAIL_SENT).data == {"to": CONTACT}


# --- Each kind of event, with Mailgun's payloads and signatures ---------------------------------

KINDS = [
    # (Mailgun event, payload, what we record, words of the reason, a hard failure)
    ("delivered", esp.delivered, Delivery.DELIVERED, "", False),
    ("complained", esp.complained, Delivery.COMPLAINED, "", False),
    ("failed-permanent", esp.bounced, Delivery.BOUNCED, "email account that you tried to reach does not exist", True),
    ("rejected", esp.rejected, Delivery.REJECTED, "Not delivering to previously bounced address", True),
    ("dropped-legacy", esp.dropped_legacy, Delivery.REJECTED, "Not delivering to previously bounced address", True),
]


def payload(make, message, recipient=CONTACT, **kwargs):
    built = make(message, recipient, **kwargs)
    return built if "event" in built else esp.signed(built)


@pytest.mark.parametrize("name, make, recorded, reason, hard", KINDS, ids=[k[0] for k in KINDS])
def test_each_event_about_the_deployment_email_is_recorded_with_its_reason(
        client, order, name, make, recorded, reason, hard):
    response = esp.post(client, payload(make, message_id(order)))
    assert response.status_code == 200, response.content

    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.email_delivery == recorded
    assert reason in provisioning.email_delivery_reason
    assert provisioning.email_delivery_at == NOW
    event = DeliveryEvent.objects.get()
    assert (event.kind, event.message_id, event.order_id, event.email_id) == (
        recorded, message_id(order), order.pk, provisioning.outbox_email_id)
    assert OutboundEmail.objects.get(pk=provisioning.outbox_email_id).delivery == recorded
    # Only a bounce or a rejection: the history, the rep told once, the address held.
    assert Event.objects.filter(order=order, kind=Event.Kind.EMAIL_BOUNCED).count() == hard
    assert rep_emails(order).count() == hard
    assert BouncedAddress.objects.filter(email=CONTACT).exists() == hard
    client.force_login(order.account_rep)
    assert (order.number in failing_panel(client)) == hard


@pytest.mark.parametrize("name, make, recorded, reason, hard", KINDS, ids=[k[0] for k in KINDS])
def test_each_event_about_an_outbox_email_is_recorded_on_it(
        client, rep, mailoutbox, name, make, recorded, reason, hard):
    order = OrderFactory(account_rep=rep)
    email = outbox.enqueue(OutboundEmail.Kind.CONTACT_CHANGED_NOTICE, "old.contact@partner.example",
                           "contact-changed-notice", {"order": order, "rep_email": rep.email},
                           order=order)
    assert outbox.deliver(email.pk)
    email.refresh_from_db()

    assert esp.post(client, payload(make, email.message_id, email.to)).status_code == 200
    email.refresh_from_db()
    assert email.delivery == recorded and reason in email.delivery_reason
    assert DeliveryEvent.objects.get().email_id == email.pk
    assert BouncedAddress.objects.filter(email=email.to).exists() == hard
    assert rep_emails(order).count() == 0  # the rep is told of deployment emails only
    assert Provisioning.objects.get(pk=order.pk).email_delivery == ""


def test_a_temporary_failure_or_an_open_changes_nothing(client, order):
    esp.post(client, esp.signed(esp.deferred(message_id(order), CONTACT)))
    opened = esp.delivered(message_id(order), CONTACT)
    opened["event-data"]["event"] = "opened"
    assert esp.post(client, esp.signed(opened)).status_code == 200
    assert Provisioning.objects.get(pk=order.pk).email_delivery == ""
    assert DeliveryEvent.objects.count() == 0 and BouncedAddress.objects.count() == 0


def test_every_event_received_is_counted_and_bounces_are_on_the_metrics(client, order, settings):
    from tests.test_metrics import TOKEN, scrape, value

    settings.METRICS_TOKEN = TOKEN
    for make in (esp.delivered, esp.deferred, esp.bounced):
        esp.post(client, esp.signed(make(message_id(order), CONTACT)))
    esp.post(client, esp.signed(esp.bounced("<not-ours@mg.example>", CONTACT, at=1534110422)))
    esp.post(client, esp.signed(esp.bounced(message_id(order), CONTACT), key="wrong"))  # refused
    notice = outbox.enqueue(OutboundEmail.Kind.COLLEAGUE, "colleague@partner.example",
                            "contact-changed-notice", {"order": order, "rep_email": "r@v.example"})
    outbox.deliver(notice.pk)
    notice.refresh_from_db()
    esp.post(client, esp.signed(esp.rejected(notice.message_id, notice.to)))

    figures = scrape(client)
    received = {labels[0][1]: n for (name, labels), n in figures.items()
                if name == "onboarding_webhook_events_received_total"}
    assert received == {"delivered": 1, "deferred": 1, "bounced": 2, "rejected": 1}
    assert value(figures, "onboarding_emails_bounced_today", kind="deployment") == 1
    assert value(figures, "onboarding_emails_bounced_today", kind="colleague") == 1
    assert value(figures, "onboarding_emails_bounced_today", kind="rep_stalled") == 0
    # The rep changes the contact: the bounce is cleared on the order, still counted today.
    client.force_login(order.account_rep)
    client.post(f"/reps/orders/{order.number}/contact/", {"email": "ines@partner.example"})
    assert value(scrape(client), "onboarding_emails_bounced_today", kind="deployment") == 1


# --- Forged, replayed, unknown ------------------------------------------------------------------

def nothing_recorded(order):
    provisioning = Provisioning.objects.get(pk=order.pk)
    return (provisioning.email_delivery == "" and DeliveryEvent.objects.count() == 0
            and BouncedAddress.objects.count() == 0 and rep_emails(order).count() == 0
            and not Event.objects.filter(kind=Event.Kind.EMAIL_BOUNCED).exists())


@pytest.mark.parametrize("forge", [
    lambda p: esp.signed(p, key="not-our-signing-key"),             # signed with another key
    lambda p: p,                                                    # not signed
    lambda p: {**esp.signed(p), "signature": {**esp.signed(p)["signature"], "timestamp": "1"}},
], ids=["wrong-key", "unsigned", "tampered-timestamp"])
def test_a_forged_event_is_refused_and_changes_nothing(client, order, forge):
    response = esp.post(client, forge(esp.bounced(message_id(order), CONTACT)))
    assert response.status_code == 400
    assert nothing_recorded(order)


def test_with_a_webhook_secret_the_basic_auth_is_checked_too(client, order, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "mailgun:b4sic-s3cret"}
    event = esp.signed(esp.bounced(message_id(order), CONTACT))
    assert esp.post(client, event).status_code == 400  # signed, but no basic auth
    wrong = "Basic " + base64.b64encode(b"mailgun:guess").decode()
    assert esp.post(client, event, HTTP_AUTHORIZATION=wrong).status_code == 400
    assert nothing_recorded(order)
    right = "Basic " + base64.b64encode(b"mailgun:b4sic-s3cret").decode()
    assert esp.post(client, event, HTTP_AUTHORIZATION=right).status_code == 200
    assert Provisioning.objects.get(pk=order.pk).email_delivery == Delivery.BOUNCED


def test_without_a_signing_key_there_is_no_webhook(client, order, settings):
    settings.ANYMAIL = {}
    assert esp.post(client, esp.signed(esp.bounced(message_id(order), CONTACT))).status_code == 404
    assert nothing_recorded(order)


def test_a_replayed_event_changes_nothing_and_the_rep_is_told_once(client, order, mailoutbox):
    bounce = esp.signed(esp.bounced(message_id(order), CONTACT))
    for _ in range(3):
        assert esp.post(client, bounce).status_code == 200
    # Another word on the same email (Mailgun's own "rejected" after the bounce): no second email.
    assert esp.post(client, esp.signed(esp.rejected(message_id(order), CONTACT))).status_code == 200
    assert rep_emails(order).count() == 1
    assert Event.objects.filter(order=order, kind=Event.Kind.EMAIL_BOUNCED).count() == 1
    assert DeliveryEvent.objects.filter(kind=Delivery.BOUNCED).count() == 1
    assert Provisioning.objects.get(pk=order.pk).email_delivery == Delivery.BOUNCED

    # The rep resends to the same address (the partner fixed the mailbox): a replay of the old
    # bounce now finds nothing, and holds the address no more.
    client.force_login(order.account_rep)
    assert client.post(f"/reps/orders/{order.number}/resend/").status_code == 302
    assert esp.post(client, bounce).status_code == 200
    assert not BouncedAddress.objects.exists()
    assert Provisioning.objects.get(pk=order.pk).email_delivery == ""
    assert rep_emails(order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_bounce_posted_five_times_at_once_tells_the_rep_once(settings, mailoutbox):
    settings.EMAIL_BACKEND = esp.BACKEND
    with time_machine.travel(NOW, tick=False):
        order = sent_order(RepFactory())
        event = esp.signed(esp.bounced(message_id(order), CONTACT))
        results, errors = at_once(lambda i: esp.post(Client(), event).status_code, 5)
    assert errors == [] and results == [200] * 5
    assert rep_emails(order).count() == 1 and DeliveryEvent.objects.count() == 1
    assert Event.objects.filter(order=order, kind=Event.Kind.EMAIL_BOUNCED).count() == 1


def test_an_old_event_about_an_unknown_message_changes_nothing(client, order):
    old = esp.signed(esp.bounced("<20180812214658.1.0DF563D0B3597700@example.org>", CONTACT,
                                 at=1534110422.389832))
    assert esp.post(client, old).status_code == 200
    assert nothing_recorded(order)


def test_a_bounce_arriving_before_its_send_is_recorded_is_applied_when_posted_again(client, order):
    """The job records a batch once all of it is sent; a fast bounce may come first. It is
    answered 409 (changing nothing), and Mailgun's retry of the same event is applied."""
    early = esp.signed(esp.bounced("<20261210090501.1.AAAA@mg.onboarding.example>", CONTACT))
    response = esp.post(client, early)
    assert response.status_code == 409
    assert nothing_recorded(order)
    # The batch's record lands (the same id now on the order, as lifecycle.record_sent does).
    Provisioning.objects.filter(pk=order.pk).update(
        email_message_id="<20261210090501.1.AAAA@mg.onboarding.example>")
    assert esp.post(client, early).status_code == 200
    assert Provisioning.objects.get(pk=order.pk).email_delivery == Delivery.BOUNCED
    assert rep_emails(order).count() == 1


# --- The rep's view: dashboard, email, admin ----------------------------------------------------

def bounce(client, order):
    assert esp.post(client, esp.signed(esp.bounced(message_id(order), CONTACT))).status_code == 200


def test_a_bounced_deployment_email_shows_on_the_dashboard_at_once_with_change_contact(client, order):
    other = sent_order(RepFactory(), number="CCW-40000002", deployment_contact_email="it@other.example")
    client.force_login(order.account_rep)
    assert failing_panel(client) == ""
    bounce(client, order)

    page = client.get(DASHBOARD)
    assert [row.order.number for row in page.context["page"].object_list] == []  # not stalled yet
    panel = failing_panel(client)
    for text in ["1 deployment email failing", order.number, CONTACT, "Bounced",
                 "email account that you tried to reach does not exist",
                 "Dec. 10, 2026, 9:05 a.m.", "Not retried: change the contact or resend",
                 f'href="/reps/orders/{order.number}/contact/?next=', "Change contact"]:
        assert text in panel, text
    assert other.number not in panel


def test_the_rep_gets_one_email_in_their_language_with_the_change_contact_link(client, rep, mailoutbox):
    rep.language = "fr"
    rep.save()
    order = sent_order(rep)
    mailoutbox.clear()
    bounce(client, order)
    email = rep_emails(order).get()
    assert outbox.deliver(email.pk)
    message = mailoutbox[-1]
    assert message.to == [rep.email]
    assert message.subject == (f"Commande {order.number} : l'e-mail de déploiement n'a pas été "
                               "remis, vérifiez l'adresse du contact")
    assert "courrier électronique du contact pour le déploiement" in message.body
    assert f"https://onboarding.example/reps/orders/{order.number}/contact/" in message.body
    assert "550" not in message.subject and "does not exist" in message.body  # the server's words


def test_the_rep_email_in_english(client, order, mailoutbox):
    bounce(client, order)
    email = rep_emails(order).get()
    assert email.subject == f"Order {order.number}: the deployment email bounced, check the contact's address"
    assert f"could not be delivered to {CONTACT}" in email.body_text
    assert "Change the deployment contact" in email.body_html


def test_admin_shows_the_bounce_with_change_contact_one_click_away(client, order, admin_client):
    bounce(client, order)
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Bounced" in page and f'href="/reps/orders/{order.number}/contact/"' in page
    listed = admin_client.get("/admin/orders/order/", {"email_bounced": "yes"}).content.decode()
    assert order.number in listed and f'href="/reps/orders/{order.number}/contact/"' in listed
    assert order.number not in admin_client.get("/admin/orders/order/",
                                                 {"email_bounced": "no"}).content.decode()
    assert CONTACT in admin_client.get("/admin/provisioning/bouncedaddress/").content.decode()


# --- Not retried blindly ------------------------------------------------------------------------

def test_no_job_sends_to_a_bounced_address_until_a_rep_acts(client, order, clock, mailoutbox):
    bounce(client, order)
    # The same contact on the next day's order: the job does not send it; it fails, visibly.
    tomorrow = OrderFactory(requested_start_date=TODAY + datetime.timedelta(days=1),
                            account_rep=order.account_rep, number="CCW-40000003")
    # An outbox email to that address (the window reminder's kind): held too.
    notice = outbox.enqueue(OutboundEmail.Kind.WINDOW_REMINDER, CONTACT.upper(),
                            "contact-changed-notice", {"order": order, "rep_email": "anne@vendor.example"},
                            order=order)

    def to_contact():
        return [m for m in mailoutbox if m.to[0].lower() == CONTACT]

    sent_before = len(to_contact())
    assert not outbox.deliver(notice.pk)
    clock.move_to(local(TODAY + datetime.timedelta(days=1), 9, 0))
    run = jobs.send_due_deployment_emails()
    assert run.sent == [] and run.failed[0][0] == tomorrow.number
    assert run.failed[0][1].startswith(f"Not sent: an email to {CONTACT} bounced on 2026-12-10 09:05")
    held = Provisioning.objects.get(pk=tomorrow.pk)
    assert held.email_sent_at is None and held.email_failed_at is not None
    assert "resends to this address or changes the contact" in held.email_last_error
    # The contact is not reminded either (20 hours after the email).
    assert jobs.send_setup_reminders(now=local(TODAY + datetime.timedelta(days=1), 6)) == []
    for hour in range(10, 13):  # retries (each checking again) and sweeps: still nothing sent
        clock.move_to(local(TODAY + datetime.timedelta(days=1), hour))
        jobs.send_due_deployment_emails()
        jobs.send_pending_emails()
    assert len(to_contact()) == sent_before
    notice.refresh_from_db()
    assert notice.sent_at is None and notice.last_error.startswith("Not sent:")
    client.force_login(order.account_rep)
    panel = failing_panel(client)
    assert order.number in panel and tomorrow.number in panel and "Not sent:" in panel

    # The rep resends the first order's email to the same address: it goes, and so do the others.
    assert client.post(f"/reps/orders/{order.number}/resend/").status_code == 302
    assert not BouncedAddress.objects.exists()
    clock.move_to(local(TODAY + datetime.timedelta(days=1), 14))
    assert jobs.send_due_deployment_emails().sent == []  # tomorrow's is in the outbox, held
    assert jobs.send_pending_emails() == {"sent": 2, "failed": 0}  # it, and the notice
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert Provisioning.objects.get(pk=tomorrow.pk).email_sent_at is not None
    assert len(to_contact()) == sent_before + 3  # the resend, tomorrow's email, the notice


def test_changing_the_contact_clears_the_bounce_and_the_new_contact_s_link_opens_the_wizard(
        client, order, mailoutbox):
    bounce(client, order)
    client.force_login(order.account_rep)
    mailoutbox.clear()
    response = client.post(f"/reps/orders/{order.number}/contact/", {"email": "ines@partner.example"})
    assert response.status_code == 302

    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.email_delivery == "" and provisioning.email_sent_at is not None
    assert provisioning.email_message_id == mailoutbox[0].anymail_status.message_id
    assert failing_panel(client) == ""
    assert [m.to for m in mailoutbox] == [["ines@partner.example"]]
    # The previous address bounced: no notice that its link stopped working goes there.
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.CONTACT_CHANGED_NOTICE).exists()
    assert Event.objects.filter(order=order, kind=Event.Kind.CONTACT_CHANGED).get().data["from"] == CONTACT

    client.logout()
    wizard = client.get(f"/setup/{token_of(mailoutbox[0])}/", follow=True)
    assert wizard.status_code == 200
    assert "Who is setting up this order?" in wizard.content.decode()


def test_a_bounce_of_an_order_already_set_up_is_recorded_but_nobody_is_called(client, order):
    Provisioning.objects.filter(pk=order.pk).update(status="set_up", set_up_at=NOW)
    bounce(client, order)
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.email_delivery == "" and rep_emails(order).count() == 0
    assert DeliveryEvent.objects.get().order_id == order.pk
    client.force_login(order.account_rep)
    assert failing_panel(client) == ""


def test_a_staff_user_who_is_not_a_rep_cannot_use_the_link_admin_shows(client, order):
    """Change contact from admin leads to the rep's page, which only reps (and superusers) open."""
    client.force_login(UserFactory(is_staff=True))
    assert client.get(f"/reps/orders/{order.number}/contact/").status_code == 403


# --- Cost and configuration ---------------------------------------------------------------------

def test_a_webhook_event_costs_a_fixed_few_queries(client, order, django_assert_max_num_queries):
    event = esp.signed(esp.bounced(message_id(order), CONTACT))
    # Counted for /metrics (one upsert in a savepoint); seen before?; then in a transaction: the
    # outbox row (locked) and its delivery, the order's row (locked) and its update, the bounce's
    # history, the event row (in a savepoint), the held address (one upsert), the rep's email.
    with django_assert_max_num_queries(16):
        assert esp.post(client, event).status_code == 200
    with django_assert_max_num_queries(4):  # posted again: counted, one look-up, nothing else
        assert esp.post(client, event).status_code == 200


def test_email_esp_mailgun_sends_through_anymail_and_needs_its_keys():
    from tests.test_settings import run_manage

    show = ["shell", "-v", "0", "-c", "from django.conf import settings as s; "
            "print(s.EMAIL_BACKEND, sorted(s.ANYMAIL))"]
    keys = {"MAILGUN_API_KEY": "key-1", "MAILGUN_SENDER_DOMAIN": "mg.onboarding.example",
            "MAILGUN_WEBHOOK_SIGNING_KEY": "whsec"}
    configured = run_manage(*show, EMAIL_ESP="mailgun", ANYMAIL_WEBHOOK_SECRET="mailgun:pw", **keys)
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.split("\n")[0] == (
        "anymail.backends.mailgun.EmailBackend ['MAILGUN_API_KEY', 'MAILGUN_API_URL', "
        "'MAILGUN_SENDER_DOMAIN', 'MAILGUN_WEBHOOK_SIGNING_KEY', 'WEBHOOK_SECRET']")
    default = run_manage(*show)
    assert default.stdout.startswith("django.core.mail.backends") and "[]" in default.stdout
    missing = run_manage(*show, EMAIL_ESP="mailgun", MAILGUN_API_KEY="key-1")
    assert missing.returncode != 0 and "MAILGUN_SENDER_DOMAIN" in missing.stderr
    unknown = run_manage(*show, EMAIL_ESP="sendgrid")
    assert unknown.returncode != 0 and "EMAIL_ESP='sendgrid'" in unknown.stderr
