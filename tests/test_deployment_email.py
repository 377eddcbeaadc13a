"""The deployment email: on the start date at the business hour, once, whatever runs at once."""
import datetime
import re
import smtplib
import threading
import time
from collections import Counter

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command

from provisioning import deployment_email, jobs, lifecycle, links, services
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink, SetupMode, Status
from tests.factories import OrderFactory
from tests.helpers import at_once, local, run_at, sweep_at, token_of


START = datetime.date(2026, 12, 1)


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, messages):
        raise smtplib.SMTPException("421 service not available")


class PickyBackend(BaseEmailBackend):
    """Refuses one recipient, accepts the others (into mail.outbox)."""

    def send_messages(self, messages):
        for message in messages:
            if "broken@" in message.to[0]:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"no such user")})
            mail.outbox.append(message)
        return len(messages)


class SlowBackend(BaseEmailBackend):
    """locmem, slowed down so two concurrent runs interleave their batches."""

    def send_messages(self, messages):
        time.sleep(0.01)
        mail.outbox.extend(messages)
        return len(messages)


# --- When -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_sends_the_email_on_the_start_date_and_not_before(mailoutbox):
    order = OrderFactory(requested_start_date=START)

    assert run_at(local(START - datetime.timedelta(days=1), 12)).sent == []
    assert run_at(local(START, 8, 59)).sent == []  # before the business hour
    assert mailoutbox == []

    run = run_at(local(START, settings.DEPLOYMENT_EMAIL_HOUR))
    assert run.sent == [order.number]
    assert [m.to for m in mailoutbox] == [["webex-deploy@partner.example"]]
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.status == Status.EMAIL_SENT
    assert provisioning.email_sent_at == local(START, settings.DEPLOYMENT_EMAIL_HOUR)
    assert Event.objects.filter(order=order, kind=Event.Kind.EMAIL_SENT).count() == 1

    assert run_at(local(START, 15)).sent == []  # the next runs send nothing more
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_it_catches_up_after_an_outage(mailoutbox):
    missed = [OrderFactory(requested_start_date=START + datetime.timedelta(days=d)) for d in range(3)]
    future = OrderFactory(requested_start_date=START + datetime.timedelta(days=10))

    run = run_at(local(START + datetime.timedelta(days=4), 7), batch_size=2)  # nothing ran for days

    assert sorted(run.sent) == sorted(o.number for o in missed)
    assert run.batches == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["webex-deploy@partner.example"] * 3
    assert run_at(local(START + datetime.timedelta(days=4), 9)).sent == []
    assert Provisioning.objects.get(pk=future.pk).email_sent_at is None


@pytest.mark.django_db
def test_closed_and_set_up_orders_are_not_emailed(mailoutbox):
    closed = OrderFactory(requested_start_date=START)
    set_up = OrderFactory(requested_start_date=START)
    Provisioning.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    Provisioning.objects.filter(pk=set_up.pk).update(status=Status.SET_UP, set_up_at=local(START, 8))

    run = run_at(local(START, 10))

    assert run.sent == [] and run.skipped == 2 and mailoutbox == []
    # They left the job's index: the next run does not even claim them.
    assert run_at(local(START, 11)).batches == 0


@pytest.mark.django_db
def test_a_reopened_order_whose_email_never_went_gets_it(mailoutbox):
    order = OrderFactory(requested_start_date=START)
    Provisioning.objects.filter(pk=order.pk).update(status=Status.CLOSED)
    run_at(local(START, 10))
    with time_machine.travel(local(START, 11), tick=False):
        services.reopen(order)
    assert run_at(local(START, 11)).sent == [order.number]


# --- Failures ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_smtp_failure_leaves_the_order_unsent_and_the_outbox_retries_it_with_backoff(
        settings, mailoutbox):
    order = OrderFactory(requested_start_date=START)
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"

    run = run_at(local(START, 9))
    assert run.sent == [] and [n for n, _ in run.failed] == [order.number]
    provisioning = Provisioning.objects.select_related("outbox_email").get(pk=order.pk)
    assert provisioning.email_sent_at is None and provisioning.status == Status.SCHEDULED
    assert provisioning.email_attempts == 1
    assert "421 service not available" in provisioning.email_last_error
    assert provisioning.email_failed_at == local(START, 9)
    # first backoff: one minute, by the outbox, which holds the email
    assert provisioning.outbox_email.next_attempt_at == local(START, 9, 1)
    assert run_at(local(START, 9, 30)).failed == []  # the job does not send it again

    assert sweep_at(local(START, 9, 0)) == {"sent": 0, "failed": 0}  # not before its backoff
    assert sweep_at(local(START, 9, 1)) == {"sent": 0, "failed": 1}
    provisioning.refresh_from_db()
    assert provisioning.email_attempts == 2
    provisioning.outbox_email.refresh_from_db()
    assert provisioning.outbox_email.next_attempt_at == local(START, 9, 3)  # then two minutes
    assert Event.objects.filter(order=order, kind=Event.Kind.EMAIL_FAILED).count() == 1  # one per streak

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sweep_at(local(START, 9, 3)) == {"sent": 1, "failed": 0}
    assert sweep_at(local(START, 9, 30)) == {"sent": 0, "failed": 0}
    assert run_at(local(START, 9, 30)).sent == []
    assert len(mailoutbox) == 1
    provisioning.refresh_from_db()
    assert provisioning.email_sent_at == local(START, 9, 3)
    assert provisioning.email_failed_at is None and provisioning.email_last_error == ""
    # The link that was emailed is the live one.
    assert links.check_link(token_of(mailoutbox[0])).ok


@pytest.mark.django_db
def test_one_bad_address_does_not_stop_the_others(settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.test_deployment_email.PickyBackend"
    good = [OrderFactory(requested_start_date=START) for _ in range(2)]
    bad = OrderFactory(requested_start_date=START, deployment_contact_email="broken@partner.example")

    run = run_at(local(START, 9))

    assert sorted(run.sent) == sorted(o.number for o in good)
    assert [n for n, _ in run.failed] == [bad.number]
    assert Provisioning.objects.get(pk=bad.pk).email_failed_at is not None


@pytest.mark.django_db
def test_a_crashed_run_is_retried_after_the_lease(mailoutbox):
    order = OrderFactory(requested_start_date=START)
    with time_machine.travel(local(START, 9), tick=False):
        assert lifecycle.claim_due_emails(local(START, 9), 10) == [order.pk]  # then it "crashed"
    assert run_at(local(START, 9, 5)).sent == []  # still leased
    assert run_at(local(START, 9) + lifecycle.EMAIL_LEASE).sent == [order.number]


@pytest.mark.django_db
def test_a_run_cut_off_after_writing_its_batch_is_sent_by_the_outbox_sweep_after_the_lease(
        mailoutbox):
    order = OrderFactory(requested_start_date=START)
    with time_machine.travel(local(START, 9), tick=False):
        deployment_email.claim_and_queue(local(START, 9), 10)  # then the run "died"
    assert run_at(local(START, 9, 5)).sent == [] and sweep_at(local(START, 9, 5))["sent"] == 0
    assert sweep_at(local(START, 9) + lifecycle.EMAIL_LEASE)["sent"] == 1
    assert [m.to for m in mailoutbox] == [[order.deployment_contact_email]]
    assert links.check_link(token_of(mailoutbox[0])).ok
    assert Provisioning.objects.get(pk=order.pk).status == Status.EMAIL_SENT


def failing_email(order, settings):
    """The order's deployment email, refused once by the mail server, waiting in the outbox."""
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"
    assert run_at(local(START, 9)).failed
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return Provisioning.objects.get(pk=order.pk).outbox_email_id


@pytest.mark.django_db
def test_an_order_set_up_while_its_email_is_failing_is_not_emailed_any_more(settings, mailoutbox):
    order = OrderFactory(requested_start_date=START)
    email_id = failing_email(order, settings)
    provisioning = Provisioning.objects.select_related("order").get(pk=order.pk)
    lifecycle.set_up(provisioning, mode=SetupMode.SELF, actor=None, installer_name="Inès",
                     installer_email="ines@partner.example", customer_admin_email="",
                     new_admin=None, browser="b", data={})
    assert not OutboundEmail.objects.filter(pk=email_id).exists()
    assert sweep_at(local(START, 12)) == {"sent": 0, "failed": 0} and mailoutbox == []


@pytest.mark.django_db
def test_a_closed_window_withdraws_a_failing_email_and_a_reopen_sends_a_new_one(settings, mailoutbox):
    order = OrderFactory(requested_start_date=START)
    email_id = failing_email(order, settings)
    closes = Provisioning.objects.get(pk=order.pk).window_closes_at
    assert order.pk in lifecycle.close_expired(closes + datetime.timedelta(minutes=1))
    assert not OutboundEmail.objects.filter(pk=email_id).exists()
    assert Provisioning.objects.get(pk=order.pk).outbox_email_id is None
    assert sweep_at(closes + datetime.timedelta(hours=1))["sent"] == 0 and mailoutbox == []

    with time_machine.travel(closes + datetime.timedelta(hours=2), tick=False):
        services.reopen(order)
    assert run_at(closes + datetime.timedelta(hours=2)).sent == [order.number]
    assert len(mailoutbox) == 1 and links.check_link(token_of(mailoutbox[0])).ok


@pytest.mark.django_db
def test_a_resend_while_the_email_is_failing_replaces_it_one_email_goes(settings, mailoutbox):
    order = OrderFactory(requested_start_date=START)
    failing = failing_email(order, settings)
    with time_machine.travel(local(START, 10), tick=False):
        services.resend_deployment_email(order)  # delivered at once (tests/conftest.py)
    assert not OutboundEmail.objects.filter(pk=failing).exists()
    assert sweep_at(local(START, 12)) == {"sent": 0, "failed": 0}
    assert len(mailoutbox) == 1 and links.check_link(token_of(mailoutbox[0])).ok
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.email_sent_at == local(START, 10) and provisioning.email_last_error == ""
    assert OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.DEPLOYMENT).count() == 1


@pytest.mark.django_db
def test_an_email_replaced_while_on_the_wire_says_a_newer_one_was_sent(mailoutbox):
    """The job has written and is sending an order's email when its rep resends it: the order
    is the resend's, and the first email's link says that a newer one was sent."""
    order = OrderFactory(requested_start_date=START)
    with time_machine.travel(local(START, 9), tick=False):
        _ids, batch, _skipped = deployment_email.claim_and_queue(local(START, 9), 10)
        services.resend_deployment_email(order)  # delivered at once (tests/conftest.py)
        run = deployment_email.DeploymentRun()
        deployment_email.send_queued(batch, mail.get_connection(), run)  # the job's send goes on
    assert run.sent == [order.number] and len(mailoutbox) == 2
    resent, first = token_of(mailoutbox[0]), token_of(mailoutbox[1])
    assert links.check_link(resent).ok
    assert links.check_link(first).problem == links.LinkProblem.SUPERSEDED
    assert SetupLink.objects.filter(order=order, superseded_at__isnull=True).count() == 1
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.outbox_email.to == mailoutbox[0].to[0]
    assert Event.objects.filter(order=order, kind=Event.Kind.EMAIL_SENT).count() == 1


# --- Several runs at once ---------------------------------------------------------------------

def naive_send_due(now, barrier):
    """What a job without a claim would do: read the due orders, send, mark them sent."""
    due = list(Provisioning.objects.filter(email_sent_at__isnull=True, email_next_attempt_at__lte=now)
               .select_related("order"))
    barrier.wait(timeout=10)
    for provisioning in due:
        mail.send_mail("Set up now", "…", None, [provisioning.order.deployment_contact_email])
        Provisioning.objects.filter(pk=provisioning.pk).update(email_sent_at=now)


@pytest.fixture
def reps_group():
    # Transactional tests flush the database, data-migration rows included.
    Group.objects.get_or_create(name=settings.REPS_GROUP)


@pytest.mark.django_db(transaction=True)
def test_without_a_claim_two_runs_send_the_same_email_twice(reps_group, mailoutbox):
    for n in range(3):
        OrderFactory(requested_start_date=START, deployment_contact_email=f"c{n}@partner.example")
    barrier = threading.Barrier(2)
    with time_machine.travel(local(START, 9), tick=False):
        _, errors = at_once(lambda i: naive_send_due(local(START, 9), barrier), 2)
    assert errors == []
    assert len(mailoutbox) == 6  # the race is real: every email went twice


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_email_exactly_once(reps_group, settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.test_deployment_email.SlowBackend"
    orders = [OrderFactory(requested_start_date=START, deployment_contact_email=f"c{n}@partner.example")
              for n in range(30)]
    with time_machine.travel(local(START, 9), tick=False):
        runs, errors = at_once(
            lambda i: jobs.send_due_deployment_emails(local(START, 9), batch_size=4), 2)

    assert errors == []
    per_contact = Counter(m.to[0] for m in mailoutbox)
    assert len(mailoutbox) == 30 and set(per_contact.values()) == {1}
    assert sorted(runs[0].sent + runs[1].sent) == sorted(o.number for o in orders)
    assert Event.objects.filter(kind=Event.Kind.EMAIL_SENT).count() == 30
    assert SetupLink.objects.filter(superseded_at__isnull=True).count() == 30
    assert SetupLink.objects.count() == 30  # no link issued by both runs either


# --- The email --------------------------------------------------------------------------------

# The vendor's page, step 3: the partner is told what happens if nobody sets the order up.
REP_WILL_CONTACT = {
    "en": "If provisioning has not started one day after the requested start date, an account "
          "representative will contact you.",
    "fr": "Si le provisionnement n'a pas commencé un jour après la date de démarrage demandée, un "
          "représentant de compte vous contactera.",
}

@pytest.mark.django_db
def test_the_english_email_names_the_order_and_carries_the_set_up_now_link(mailoutbox):
    order = OrderFactory(requested_start_date=START, number="CCW-88213407", language="en")
    run_at(local(START, 9))

    message = mailoutbox[0]
    url = f"{settings.SITE_URL}/setup/{token_of(message)}/"
    assert message.subject == "Set up now: Webex order CCW-88213407, Webex Suite (A-WX), starting Dec. 1, 2026"
    for text in ["CCW-88213407", "Webex Suite (A-WX)", "Calling × 50", "Meetings × 50",
                 "Boulangerie Martin", "Dec. 1, 2026", f"Set up now:\n{url}",
                 'choose "Someone else in my company will do the setup"', "Forward this email",
                 REP_WILL_CONTACT["en"]]:
        assert text in message.body
    html, mimetype = message.alternatives[0]
    assert REP_WILL_CONTACT["en"] in html
    assert mimetype == "text/html"
    assert f'<a href="{url}" style="display:inline-block;background:#000000' in html
    assert ">Set up now</a>" in html
    assert url in html.split("Set up now</a>", 1)[1]  # the link in plain text too
    assert links.check_link(token_of(message)).link.order == order


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_email_from_its_frame_is_the_template_rendered_for_that_order(language):
    """outbox.render_framed renders the templates once per language: what it gives an order is
    byte for byte what the templates give, markup in the names escaped in the HTML only."""
    from django.utils.safestring import mark_safe

    from provisioning import outbox

    order = OrderFactory(requested_start_date=START, language=language,
                         customer_name='Dupont & Fils <SARL> "l\'Atelier"',
                         partner_name="Réseaux & Co")
    provisioning = Provisioning.objects.select_related("order").get(pk=order.pk)
    for _ in range(2):  # the frame is made by the first, reused by the second
        email = deployment_email.build(provisioning)
        values = {**deployment_email.email_values(provisioning),
                  "url": outbox.placeholder("url")}
        values["services_html"] = mark_safe(values["services_html"])
        assert [email.subject, email.body_text, email.body_html] == list(
            outbox.render_email("deployment", values, language))
    assert "Dupont & Fils <SARL>" in email.body_text and "<SARL>" not in email.body_html
    assert "Dupont &amp; Fils &lt;SARL&gt; &quot;l&#x27;Atelier&quot;" in email.body_html
    assert "\ue000" not in email.body_html + email.body_text + email.subject


@pytest.mark.django_db
def test_the_french_email_is_in_french(mailoutbox):
    OrderFactory(requested_start_date=START, number="CCW-88213408", language="fr")
    run_at(local(START, 9))

    message = mailoutbox[0]
    url = f"{settings.SITE_URL}/setup/{token_of(message)}/"
    assert message.subject == ("Configurer maintenant : commande Webex CCW-88213408, Webex Suite (A-WX), "
                               "démarrage le 1er décembre 2026")
    alias = ("Transférez cet e-mail à cette personne, ou ouvrez le lien et choisissez « Une autre personne "
             "de mon entreprise effectuera l'installation » : elle recevra son propre lien.")
    for text in ["Webex Suite (A-WX)", "Appels × 50, Réunions × 50", "Boulangerie Martin",
                 f"Configurer maintenant\u00a0:\n{url}", "Numéro de commande\u00a0: CCW-88213408",
                 "cette adresse est un alias", alias, REP_WILL_CONTACT["fr"],
                 "Date de démarrage demandée\u00a0: 1er décembre 2026"]:
        assert text in message.body, text
    html = message.alternatives[0][0]
    assert 'lang="fr"' in html
    assert f'<a href="{url}" style="display:inline-block;background:#000000' in html
    assert ">Configurer maintenant</a>" in html
    after_button = html.split("Configurer maintenant</a>", 1)[1]
    assert "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur" in after_button
    assert f">{url}</a>" in after_button  # the link in plain text too
    for text in ["Webex Suite (A-WX)", "Appels × 50<br>Réunions × 50", alias, REP_WILL_CONTACT["fr"],
                 ">Date de démarrage demandée</th>"]:
        assert text in html, text


# --- Cost -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_job_queries_grow_with_batches_not_orders(django_assert_max_num_queries, mailoutbox):
    for _ in range(40):
        OrderFactory(requested_start_date=START)
    # Per batch: claim, load (2), the emails written to the outbox and the orders told (2), in a
    # savepoint pair (a transaction outside tests); the emails loaded to send; then recording
    # them in a savepoint pair: the outbox's update, the orders' update, their history, their
    # links (3). Then the last, empty claim in its savepoint pair. Not one query per order.
    with django_assert_max_num_queries(4 * 16 + 3):
        run = run_at(local(START, 9), batch_size=10)
    assert len(run.sent) == 40 and run.batches == 4
    with django_assert_max_num_queries(3):  # an idle run is one claim
        run_at(local(START, 10))


@pytest.mark.django_db
def test_the_command_sends_what_is_due_and_says_so(mailoutbox, capsys):
    order = OrderFactory(requested_start_date=START)
    with time_machine.travel(local(START, 9, 30), tick=False):
        call_command("send_due_deployment_emails")
    out = capsys.readouterr().out
    assert f"sent     {order.number}" in out and "1 sent, 0 failed" in out
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_load_demo_sends_the_demo_email_and_prints_its_live_link_on_every_run(mailoutbox, capsys):
    with time_machine.travel(local(START, 7), tick=False):  # before the business hour: sent anyway
        call_command("load_demo")
        first = capsys.readouterr().out
        call_command("load_demo")  # make run again: a fresh link, printed and emailed
        second = capsys.readouterr().out

    assert len(mailoutbox) == 2
    for out, message in [(first, mailoutbox[0]), (second, mailoutbox[1])]:
        assert f"Set up now:  {settings.SITE_URL}/setup/{token_of(message)}/" in out
    assert links.check_link(token_of(mailoutbox[1])).ok
    assert links.check_link(token_of(mailoutbox[0])).problem == links.LinkProblem.SUPERSEDED


def printed_token(out):
    return re.search(r"Set up now:  \S+/setup/([\w-]+)/", out).group(1)


@pytest.mark.django_db
def test_make_run_after_the_demo_order_is_set_up_loads_a_new_one_whose_link_works(client, capsys):
    """A newcomer sets up the demo order, stops `make run` and starts it again: a new link to a
    new demo order (same partner, new customer), which takes them through its setup too."""
    from orders.models import Order
    from tests.wizard_helpers import open_link, set_password, setup_url, walk

    with time_machine.travel(local(START, 7), tick=False):
        call_command("load_demo")
        first = capsys.readouterr().out
        demo = Order.objects.get()
        assert client.get(f"/setup/{printed_token(first)}/").url == setup_url(demo)
        contact = demo.deployment_contact_email
        walk(client, demo, {"installer": {"choice": "self", "name": "Dana Demo", "email": contact}})
        set_password(client, demo)  # the done page's password: Dana is signed in
        assert Provisioning.objects.get(pk=demo.pk).set_up_at is not None

        call_command("load_demo")
        second = capsys.readouterr().out
        again = Order.objects.exclude(pk=demo.pk).get()
        call_command("load_demo")  # and once more before setting it up: the same order, a new link
        third = capsys.readouterr().out

    assert Order.objects.count() == 2
    assert f"The previous demo order, {demo.number}, is already set up" in second
    assert again.number in second and again.partner_external_id == demo.partner_external_id
    assert again.customer_external_id != demo.customer_external_id
    assert f"sign in as {contact}" in second
    for out in (first, second, third):
        assert "Another link: run `make run` again." in out
    assert not links.check_link(printed_token(second)).ok  # superseded by the third run's
    link = links.check_link(printed_token(third))
    assert link.ok and link.link.order == again

    with time_machine.travel(local(START, 8), tick=False):
        open_link(client, again, raw=printed_token(third))
        walk(client, again, {"customer_admin": {"email": "chloe.admin@customer.example"}})
    assert Provisioning.objects.get(pk=again.pk).set_up_at is not None
