"""Setup links: re-issued, expired (setup window), deployed; resend, change contact, re-open."""
import datetime

import pytest
import time_machine
from django.contrib.admin import ModelAdmin, site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import Client, RequestFactory

from orders.models import Order
from provisioning import admin_actions, jobs, links, services, tokens
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink, Status
from tests.factories import OrderFactory, RepFactory
from tests.helpers import local, token_of


pytestmark = pytest.mark.django_db

START = datetime.date(2026, 12, 1)


def days_after_start(days, hour=12):
    return local(START + datetime.timedelta(days=days), hour)


def emailed_order(**kwargs):
    """An order whose deployment email went out on its start date; returns (order, token)."""
    order = OrderFactory(requested_start_date=START, **kwargs)
    with time_machine.travel(local(START, 9), tick=False):
        token = links.issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    return order, token


def set_up(order, at):
    Provisioning.objects.filter(pk=order.pk).update(status=Status.SET_UP, set_up_at=at)
    order.provisioning.refresh_from_db()


# --- check_link --------------------------------------------------------------------------------

def test_a_token_is_stored_only_as_its_hash():
    order, token = emailed_order()
    link = SetupLink.objects.get(order=order)
    assert len(token) >= 43  # 256 random bits
    assert link.token_hash == tokens.hash_token(token) and token not in link.token_hash


def test_an_unknown_token_is_unknown():
    emailed_order()
    assert links.check_link("not-a-real-token").problem == links.LinkProblem.UNKNOWN


def test_a_reissued_link_is_superseded_and_the_new_one_works():
    order, old = emailed_order()
    new = links.issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    with time_machine.travel(days_after_start(1), tick=False):
        assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED
        assert links.check_link(new).ok


@pytest.mark.parametrize("product, last_day", [("A-WX", 30), ("A-SPK", 30), ("A-FLEX", 7)])
def test_a_link_expires_when_the_setup_window_closes(product, last_day):
    order, token = emailed_order(product=product)
    with time_machine.travel(local(START + datetime.timedelta(days=last_day), 23, 59), tick=False):
        assert links.check_link(token).ok
    with time_machine.travel(local(START + datetime.timedelta(days=last_day + 1), 0, 1), tick=False):
        assert links.check_link(token).problem == links.LinkProblem.EXPIRED


def test_a_link_of_a_deployed_order_says_so():
    order, token = emailed_order()
    Provisioning.objects.filter(pk=order.pk).update(status=Status.DEPLOYED, set_up_at=days_after_start(1),
                                                    deployed_at=days_after_start(2))
    with time_machine.travel(days_after_start(3), tick=False):
        assert links.check_link(token).problem == links.LinkProblem.DEPLOYED


# --- link_for_order: the look-up every wizard page begins with ----------------------------------

def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_link_for_order_loads_what_the_orm_loads_in_one_query(django_assert_num_queries):
    order, _token = emailed_order(customer_name="Dubois & <Fils>")
    set_up(order, days_after_start(1))
    link = order.setup_links.get()
    expected = (SetupLink.objects.select_related("order", "order__provisioning").get(pk=link.pk))
    with django_assert_num_queries(1):
        loaded = links.link_for_order(link.pk, order.number)
        problem = links.link_problem(loaded)
    assert _fields(loaded) == _fields(expected)
    assert _fields(loaded.order) == _fields(expected.order)
    assert _fields(loaded.order.provisioning) == _fields(expected.order.provisioning)
    assert loaded.order.provisioning.set_up_at is not None and problem is None
    assert loaded.order.provisioning.order is loaded.order


def test_link_for_order_is_none_for_another_order_or_an_unknown_link():
    order, _token = emailed_order()
    other, _other_token = emailed_order()
    link = order.setup_links.get()
    assert links.link_for_order(link.pk, other.number) is None
    assert links.link_for_order(link.pk + 1000, order.number) is None
    assert links.link_for_order(link.pk, order.number).pk == link.pk


# --- Closing and re-opening --------------------------------------------------------------------

def test_the_window_job_closes_expired_orders_once():
    expired, token = emailed_order()
    flex = OrderFactory(requested_start_date=START, product="A-FLEX")
    open_order = OrderFactory(requested_start_date=START + datetime.timedelta(days=20))
    deployed = OrderFactory(requested_start_date=START)
    Provisioning.objects.filter(pk=deployed.pk).update(status=Status.DEPLOYED, deployed_at=days_after_start(3))

    with time_machine.travel(days_after_start(10), tick=False):
        assert jobs.close_expired_setup_windows() == [flex.pk]
    with time_machine.travel(days_after_start(31, 1), tick=False):
        assert jobs.close_expired_setup_windows() == [expired.pk]
        assert jobs.close_expired_setup_windows() == []

    statuses = dict(Provisioning.objects.values_list("order_id", "status"))
    assert statuses[expired.pk] == statuses[flex.pk] == Status.CLOSED
    assert statuses[open_order.pk] == Status.SCHEDULED and statuses[deployed.pk] == Status.DEPLOYED
    assert Event.objects.filter(kind=Event.Kind.CLOSED).count() == 2
    assert links.check_link(token).problem == links.LinkProblem.EXPIRED


def closed_emailed_order():
    """An order emailed on its start date, never set up, closed when its window ended."""
    order, token = emailed_order()
    Provisioning.objects.filter(pk=order.pk).update(email_sent_at=local(START, 9), status=Status.EMAIL_SENT)
    with time_machine.travel(days_after_start(40), tick=False):
        jobs.close_expired_setup_windows()
    return order, token


def test_reopening_an_emailed_order_emails_a_fresh_link_and_the_old_one_stops_working(mailoutbox):
    order, old = closed_emailed_order()
    rep = RepFactory()
    with time_machine.travel(days_after_start(40), tick=False):
        reopened = services.reopen(order, actor=rep)
        assert reopened.email.queued_to == "webex-deploy@partner.example"
        assert [m.to for m in mailoutbox] == [["webex-deploy@partner.example"]]
        new = token_of(mailoutbox[0])
        assert links.check_link(new).ok
        assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED
        provisioning = Provisioning.objects.get(pk=order.pk)
        assert provisioning.status == Status.EMAIL_SENT and provisioning.email_sent_at == days_after_start(40)
        assert provisioning.window_closes_at == days_after_start(40) + datetime.timedelta(days=30)
        event = Event.objects.get(order=order, kind=Event.Kind.REOPENED)
        assert event.actor == rep and event.data["new_link"] is True
        assert Event.objects.filter(order=order, kind=Event.Kind.EMAIL_SENT).count() == 1
        with pytest.raises(services.NotAllowed, match="not closed"):
            services.reopen(order)


def test_reopening_a_set_up_order_makes_its_link_work_again_without_an_email(mailoutbox):
    order, token = emailed_order()
    set_up(order, days_after_start(1))
    with time_machine.travel(days_after_start(40), tick=False):
        jobs.close_expired_setup_windows()
        page = Client().get(f"/setup/{token}/").content.decode()
        assert "this link will then work again" in page
        reopened = services.reopen(order)
        assert reopened.email is None and reopened.provisioning.status == Status.SET_UP
        assert links.check_link(token).ok and mailoutbox == []


def test_the_expired_page_of_an_order_not_set_up_promises_a_new_link():
    order, token = closed_emailed_order()
    with time_machine.travel(days_after_start(40), tick=False):
        page = Client().get(f"/setup/{token}/")
    assert page.status_code == 410 and "you will then receive a new link" in page.content.decode()


def test_a_reopened_flex_order_gets_seven_days():
    order = OrderFactory(requested_start_date=START, product="A-FLEX")
    with time_machine.travel(days_after_start(9), tick=False):
        jobs.close_expired_setup_windows()
        provisioning = services.reopen(order).provisioning
    assert provisioning.window_closes_at == days_after_start(9) + datetime.timedelta(days=7)


# --- Resend and change contact -----------------------------------------------------------------

def test_resend_issues_a_fresh_link_and_sends_it_at_once(mailoutbox):
    order, old = emailed_order()
    rep = RepFactory()
    with time_machine.travel(days_after_start(2), tick=False):
        outcome = services.resend_deployment_email(order, actor=rep)

    assert outcome.queued_to == order.deployment_contact_email and len(mailoutbox) == 1
    new = token_of(mailoutbox[0])
    assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED
    assert links.check_link(new).ok
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.email_sent_at == days_after_start(2) and provisioning.status == Status.EMAIL_SENT
    assert Event.objects.get(order=order, kind=Event.Kind.RESENT).actor == rep


def test_a_resend_the_mail_server_refuses_is_retried_by_the_outbox(settings, mailoutbox):
    order, _ = emailed_order()
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"
    with time_machine.travel(days_after_start(2), tick=False):
        services.resend_deployment_email(order)
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.email_sent_at is None and "421" in provisioning.email_last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(days_after_start(2) + datetime.timedelta(minutes=1), tick=False):
        assert jobs.send_pending_emails() == {"sent": 1, "failed": 0}
    assert links.check_link(token_of(mailoutbox[0])).ok
    assert Provisioning.objects.get(pk=order.pk).email_sent_at is not None


def live_links(order):
    return SetupLink.objects.filter(order=order, superseded_at__isnull=True).count()


def test_a_refused_resend_leaves_the_partners_link_working_until_a_newer_one_is_really_sent(
        settings, client, mailoutbox):
    order, old = emailed_order()
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"
    with time_machine.travel(days_after_start(2), tick=False):
        assert not services.resend_deployment_email(order).sent
        assert links.check_link(old).ok and live_links(order) == 1
        page = client.get(f"/setup/{old}/")
        assert page.status_code == 302 and "newer" not in page.content.decode()  # opens the wizard
    with time_machine.travel(days_after_start(2) + datetime.timedelta(minutes=1), tick=False):
        assert jobs.send_pending_emails()["failed"] == 1  # the outbox's retry is refused too
        assert links.check_link(old).ok and live_links(order) == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(days_after_start(2, 14), tick=False):
        assert jobs.send_pending_emails()["sent"] == 1
        assert links.check_link(token_of(mailoutbox[0])).ok and live_links(order) == 1
        page = Client().get(f"/setup/{old}/")
    assert page.status_code == 410 and "A newer setup link for this order was sent to" in page.content.decode()


def test_change_contact_sends_to_the_new_contact_and_updates_the_other_lines(mailoutbox):
    order, old = emailed_order()
    outcome = services.change_deployment_contact(order, "Anne.Martin@Partner.example", apply_to_lines=True)

    assert outcome.queued_to == "anne.martin@partner.example"
    assert mailoutbox[0].to == ["anne.martin@partner.example"]
    order.refresh_from_db()
    assert order.deployment_contact_email == "anne.martin@partner.example"
    assert set(order.lines.values_list("deployment_contact_email", flat=True)) == {"anne.martin@partner.example"}
    link = links.check_link(token_of(mailoutbox[0])).link
    assert link.recipient_email == "anne.martin@partner.example"
    assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED
    event = Event.objects.get(order=order, kind=Event.Kind.CONTACT_CHANGED)
    assert event.data == {"from": "webex-deploy@partner.example", "to": "anne.martin@partner.example",
                          "lines_changed": 2}


def test_change_contact_leaves_the_lines_alone_unless_asked(mailoutbox):
    order, _ = emailed_order()
    services.change_deployment_contact(order, "anne@partner.example")
    assert set(order.lines.values_list("deployment_contact_email", flat=True)) == {""}


@pytest.mark.parametrize("change", [
    lambda order: services.resend_deployment_email(order),
    lambda order: services.change_deployment_contact(order, "late@partner.example", apply_to_lines=True),
], ids=["resend", "change contact"])
def test_resend_and_change_contact_are_refused_once_the_order_is_set_up(change, mailoutbox):
    order, token = emailed_order()
    set_up(order, days_after_start(1))
    with pytest.raises(services.NotAllowed, match="already set up"):
        change(order)
    assert mailoutbox == []
    order.refresh_from_db()
    assert order.deployment_contact_email == "webex-deploy@partner.example"
    assert links.check_link(token).ok  # the installer's link still resumes the setup


def test_resend_on_a_closed_order_asks_to_reopen_first(mailoutbox):
    order, _ = emailed_order()
    with time_machine.travel(days_after_start(35), tick=False):
        jobs.close_expired_setup_windows()
        with pytest.raises(services.NotAllowed, match="re-open it first"):
            services.resend_deployment_email(order)


# --- Admin actions -----------------------------------------------------------------------------

def admin_request(user, data=None):
    request = RequestFactory().post("/admin/orders/order/", data or {})
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_the_admin_resend_action_confirms_first_then_resends(admin_user, mailoutbox):
    order, _ = emailed_order()
    modeladmin = ModelAdmin(Order, site)
    queryset = Order.objects.filter(pk=order.pk)

    page = admin_actions.resend_deployment_email(modeladmin, admin_request(admin_user), queryset)
    page.render()
    assert order.number in page.rendered_content and 'name="post" value="yes"' in page.rendered_content
    assert mailoutbox == []

    admin_actions.resend_deployment_email(modeladmin, admin_request(admin_user, {"post": "yes"}), queryset)
    assert len(mailoutbox) == 1


def test_the_admin_change_contact_action_refuses_set_up_orders(admin_user, mailoutbox):
    order, _ = emailed_order()
    set_up(order, days_after_start(1))
    request = admin_request(admin_user, {"post": "yes", "email": "new@partner.example", "apply_to_lines": "on"})
    admin_actions.change_deployment_contact(ModelAdmin(Order, site), request, Order.objects.filter(pk=order.pk))
    assert mailoutbox == []
    assert any("already set up" in str(m) for m in request._messages)


def test_the_admin_reopen_action_reopens_closed_orders(admin_user):
    order, _ = emailed_order()
    with time_machine.travel(days_after_start(35), tick=False):
        jobs.close_expired_setup_windows()
        admin_actions.reopen_setup_window(ModelAdmin(Order, site), admin_request(admin_user, {"post": "yes"}),
                                          Order.objects.filter(pk=order.pk))
    assert Provisioning.objects.get(pk=order.pk).status == Status.SCHEDULED
    assert Event.objects.filter(order=order, kind=Event.Kind.REOPENED).count() == 1


def test_the_admin_reopen_confirmation_states_the_window_the_orders_will_get(admin_user, settings):
    settings.SETUP_WINDOW_DAYS, settings.SETUP_WINDOW_DAYS_FLEX = 45, 10
    order, _ = emailed_order()
    page = admin_actions.reopen_setup_window(ModelAdmin(Order, site), admin_request(admin_user),
                                             Order.objects.filter(pk=order.pk))
    page.render()
    assert "new setup window (45 days, 10 for A-FLEX) from now" in page.rendered_content
    assert f"Order {order.number} is not closed: there is nothing to re-open." in page.rendered_content


def test_the_admin_reopen_action_emails_a_fresh_link_for_an_emailed_order(admin_user, mailoutbox):
    order, old = closed_emailed_order()
    with time_machine.travel(days_after_start(40), tick=False):
        admin_actions.reopen_setup_window(ModelAdmin(Order, site), admin_request(admin_user, {"post": "yes"}),
                                          Order.objects.filter(pk=order.pk))
        assert len(mailoutbox) == 1 and links.check_link(token_of(mailoutbox[0])).ok
        assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED
    event = Event.objects.get(order=order, kind=Event.Kind.REOPENED)
    assert event.actor == admin_user and event.data["new_link"] is True


def test_a_refused_email_on_reopening_is_reported_and_the_old_link_works_meanwhile(admin_user, settings):
    order, old = closed_emailed_order()
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"
    request = admin_request(admin_user, {"post": "yes"})
    with time_machine.travel(days_after_start(40), tick=False):
        admin_actions.reopen_setup_window(ModelAdmin(Order, site), request, Order.objects.filter(pk=order.pk))
        assert links.check_link(old).ok
    # The worker's send was refused: retried by the job, shown with its error to the reps.
    assert "421" in Provisioning.objects.get(pk=order.pk).email_last_error


def test_resend_through_the_order_changelist_shows_a_confirmation_page_first(client, admin_user, mailoutbox):
    order, old = emailed_order()
    client.force_login(admin_user)
    selected = {"action": "resend_deployment_email", "_selected_action": [order.pk]}

    page = client.post("/admin/orders/order/", selected)
    assert page.status_code == 200 and "Resend the deployment email" in page.content.decode()
    assert order.number in page.content.decode() and mailoutbox == []

    done = client.post("/admin/orders/order/", {**selected, "post": "yes"})
    assert done.status_code == 302 and len(mailoutbox) == 1
    assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED


def test_change_contact_through_the_order_changelist_asks_for_the_new_email(client, admin_user, mailoutbox):
    order, _ = emailed_order()
    client.force_login(admin_user)
    selected = {"action": "change_deployment_contact", "_selected_action": [order.pk]}

    page = client.post("/admin/orders/order/", selected)
    assert 'name="email"' in page.content.decode() and "Apply to the order" in page.content.decode()
    invalid = client.post("/admin/orders/order/", {**selected, "post": "yes", "email": "nope"})
    assert invalid.status_code == 200 and mailoutbox == []

    client.post("/admin/orders/order/", {**selected, "post": "yes", "email": "paul@partner.example",
                                         "apply_to_lines": "on"})
    assert [m.to for m in mailoutbox] == [["paul@partner.example"]]


def test_the_admin_change_contact_form_does_not_ask_about_other_lines_of_single_line_orders(
        client, admin_user):
    order = OrderFactory(requested_start_date=START, lines=["calling"])
    client.force_login(admin_user)
    page = client.post("/admin/orders/order/", {"action": "change_deployment_contact",
                                                "_selected_action": [order.pk]}).content.decode()
    assert 'name="email"' in page and "Apply to the order" not in page


@pytest.mark.no_deployment_worker
def test_a_rep_s_resend_never_talks_to_the_mail_server_in_the_request(
        client, mailoutbox, django_capture_on_commit_callbacks, monkeypatch):
    """The request writes the email to the outbox and hands it to a worker after commit; a
    person's page never waits on SMTP (nor fails with it)."""
    from provisioning import tasks

    order, old = emailed_order()
    handed = []
    monkeypatch.setattr(tasks.deliver_email, "apply_async",
                        lambda args, **_options: handed.append(("provisioning.tasks.deliver_email", args)))
    with time_machine.travel(days_after_start(2), tick=False):
        client.force_login(order.account_rep)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(f"/reps/orders/{order.number}/resend/")
        assert response.status_code == 302 and mailoutbox == [] and handed == []
        provisioning = Provisioning.objects.get(pk=order.pk)
        assert provisioning.email_sent_at is None
        email = provisioning.outbox_email
        assert email.kind == OutboundEmail.Kind.DEPLOYMENT and email.sent_at is None
        assert links.check_link(old).ok  # until the new email is accepted
        for callback in callbacks:
            callback()
        assert handed == [("provisioning.tasks.deliver_email", (email.pk,))]
        tasks.deliver_email.apply(handed[0][1])    # what the worker does
    assert len(mailoutbox) == 1 and links.check_link(token_of(mailoutbox[0])).ok
    assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED


@pytest.mark.no_deployment_worker
def test_with_the_broker_down_the_outbox_sweep_sends_a_resent_email_on_its_next_run(
        client, mailoutbox, django_capture_on_commit_callbacks, monkeypatch):
    from config.breaker import redis_breaker

    order, _ = emailed_order()
    redis_breaker.trip(ConnectionError("broker down"))
    with time_machine.travel(days_after_start(2), tick=False):
        client.force_login(order.account_rep)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/reps/orders/{order.number}/resend/")
        assert mailoutbox == []
    with time_machine.travel(days_after_start(2) + datetime.timedelta(minutes=2), tick=False):
        assert jobs.send_due_deployment_emails().sent == []  # written to the outbox already
        assert jobs.send_pending_emails() == {"sent": 1, "failed": 0}
    assert len(mailoutbox) == 1 and links.check_link(token_of(mailoutbox[0])).ok
