"""The account-rep dashboard /reps/stalled/: who sees it, what it lists, what it costs."""
import csv
import datetime
import html
import io
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning import jobs, links, selectors
from provisioning.models import Event, Provisioning, Status
from tests.factories import EmailedOrderFactory, MembershipFactory, OrderFactory, RepFactory, UserFactory
from tests.helpers import local, run_at, sweep_at


pytestmark = pytest.mark.django_db
URL = "/reps/stalled/"


TODAY = datetime.date(2026, 12, 10)
NOW = local(TODAY, 10)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def anne(clock):
    return RepFactory(email="anne@vendor.example")


@pytest.fixture
def world(anne):
    """Anne's and Bruno's orders, flagged stalled by the job at NOW."""
    bruno = RepFactory(email="bruno@vendor.example")

    def order(days_ago, rep=anne, **kwargs):
        return EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=days_ago), account_rep=rep,
                            **kwargs)

    w = {
        "never": order(9, number="CCW-10000009", partner_name="Réseaux Alpins SARL",
                       customer_name="Boulangerie Martin"),
        "begun": order(2, number="CCW-10000002", product="A-SPK", customer_name="Fromagerie Dupont",
                       deployment_contact_email="it@fromagerie.example"),
        "failed": order(5, number="CCW-10000005", product="A-FLEX", customer_name="Garage Lefèvre"),
        "brunos": order(20, rep=bruno, number="CCW-10000020", customer_name="Hôtel du Lac"),
        "set_up": order(4, number="CCW-10000004", customer_name="Cave Rousseau"),
        "today": order(0, number="CCW-10000000", customer_name="Pas encore"),
    }
    jobs.flag_stalled_provisioning(NOW)
    Provisioning.objects.filter(pk=w["begun"].pk).update(setup_begun_at=NOW - datetime.timedelta(days=1))
    # Stalled, then its resend keeps failing: unsent again, failing since NOW.
    Provisioning.objects.filter(pk=w["failed"].pk).update(email_failed_at=NOW, email_attempts=3,
                                                          email_sent_at=None,
                                                          email_last_error="SMTPException: 421")
    Provisioning.objects.filter(pk=w["set_up"].pk).update(status=Status.SET_UP, set_up_at=NOW)
    Event.objects.create(order=w["set_up"], kind=Event.Kind.SET_UP, at=NOW)
    return w


def visible_text(response):
    """The page's HTML with the tags inside a line of text (e.g. <wbr>) taken out."""
    return html.unescape(re.sub(r"<(wbr|/?span[^>]*)>", "", response.content.decode()))


def numbers(response):
    return [row.order.number for row in response.context["page"].object_list]


# --- Who may open it ---------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["partner user", "staff, not a rep", "staff in another group",
                                 "rep outside staff"])
def test_people_who_are_not_account_reps_get_403(client, who):
    if who == "partner user":
        user = MembershipFactory().user
    elif who == "staff, not a rep":
        user = UserFactory(is_staff=True)
    elif who == "staff in another group":
        from django.contrib.auth.models import Group

        user = UserFactory(is_staff=True)
        user.groups.add(Group.objects.create(name="Support"))
        RepFactory()  # the reps group has members, just not this one
    else:
        user = RepFactory(is_staff=False)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.get("/reps/orders/CCW-1/resend/").status_code == 403


def test_reps_and_superusers_see_the_dashboard(client, anne, admin_user):
    client.force_login(anne)
    assert client.get(URL).status_code == 200
    client.force_login(admin_user)
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("who, shown", [("rep", True), ("superuser", True),
                                        ("rep outside staff", False), ("partner user", False)])
def test_the_menu_offers_the_dashboard_to_those_it_opens_for(client, who, shown):
    user = {"rep": lambda: RepFactory(), "superuser": lambda: UserFactory(is_superuser=True),
            "rep outside staff": lambda: RepFactory(is_staff=False),
            "partner user": lambda: MembershipFactory().user}[who]()
    client.force_login(user)
    page = client.get("/", follow=True).content.decode()
    assert (f'href="{URL}"' in page) is shown
    assert (client.get(URL).status_code == 200) is shown


# --- What it lists -----------------------------------------------------------------------------

def test_by_default_a_rep_sees_their_own_stalled_orders_most_overdue_first(client, world, anne):
    client.force_login(anne)
    response = client.get(URL)
    assert numbers(response) == ["CCW-10000009", "CCW-10000005", "CCW-10000002"]
    page = visible_text(response)
    for text in ["Réseaux Alpins SARL", "Boulangerie Martin", "it@fromagerie.example", "A-SPK",
                 "Failing", "3 attempts", f"/admin/orders/order/{world['never'].pk}/change/"]:
        assert text in page
    assert [row.days_overdue for row in response.context["page"].object_list] == [9, 5, 2]


def test_all_reps_shows_everyones_stalled_orders(client, world, anne):
    client.force_login(anne)
    assert numbers(client.get(URL, {"reps": "all"}))[0] == "CCW-10000020"


@pytest.mark.parametrize("filters, expected", [
    ({"product": "A-FLEX"}, ["CCW-10000005"]),
    ({"overdue": "7"}, ["CCW-10000009"]),
    ({"overdue": "2"}, ["CCW-10000009", "CCW-10000005", "CCW-10000002"]),
    ({"setup": "begun"}, ["CCW-10000002"]),
    ({"setup": "never"}, ["CCW-10000009", "CCW-10000005"]),
    ({"setup": "email_failed"}, ["CCW-10000005"]),
    ({"q": "ccw-10000002"}, ["CCW-10000002"]),
    ({"q": "00009"}, ["CCW-10000009"]),             # a fragment of the order number
    ({"q": " ccw-1000000 "}, ["CCW-10000009", "CCW-10000005", "CCW-10000002"]),
    ({"q": "ptn-4411"}, ["CCW-10000009", "CCW-10000005", "CCW-10000002"]),  # partner id, any case
    ({"q": "alpins"}, ["CCW-10000009", "CCW-10000005", "CCW-10000002"]),
    ({"q": "fromagerie dupont"}, ["CCW-10000002"]),
    ({"q": "IT@FROMAGERIE"}, ["CCW-10000002"]),                # a piece of an address
    ({"q": " It@Fromagerie.example "}, ["CCW-10000002"]),     # a whole one, any case
    ({"q": "bruno@vendor.example", "reps": "all"}, ["CCW-10000020"]),  # a rep's: their orders
    ({"q": "Hôtel du Lac"}, []),                    # Bruno's, not in "my orders"
    ({"q": "Hôtel du Lac", "reps": "all"}, ["CCW-10000020"]),
    ({"product": "bogus"}, ["CCW-10000009", "CCW-10000005", "CCW-10000002"]),  # ignored
])
def test_filters_and_search(client, world, anne, filters, expected):
    client.force_login(anne)
    assert numbers(client.get(URL, filters)) == expected


def test_the_search_is_served_by_indexes_on_the_orders():
    from orders.models import Order

    EmailedOrderFactory(number="CCW-88213407")
    sql, params = Order.objects.filter(selectors.search_q("213407")).query.sql_with_params()
    with connection.cursor() as cursor:
        # A test table is tiny, so the planner would scan it anyway: forbid the scan to see
        # whether indexes can serve every branch of the search.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "order_number_trgm_idx" in plan and "Seq Scan" not in plan, plan


def test_one_bad_filter_value_drops_only_that_filter(client, world, anne):
    client.force_login(anne)
    response = client.get(URL, {"reps": "all", "setup": "never", "per_page": "999"})
    # Everyone's orders whose setup never began, at the default page size.
    assert numbers(response) == ["CCW-10000020", "CCW-10000009", "CCW-10000005"]
    assert response.context["page"].paginator.per_page == 25


@pytest.mark.parametrize("hour, minute", [(0, 5), (10, 0), (23, 55)])
def test_overdue_by_n_days_includes_exactly_n_days_at_any_time_of_day(client, anne, clock, hour, minute):
    for days in (6, 7, 8):
        EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=days), account_rep=anne,
                     number=f"CCW-3000000{days}")
    jobs.flag_stalled_provisioning(NOW)
    clock.move_to(local(TODAY, hour, minute))
    client.force_login(anne)
    response = client.get(URL, {"overdue": "7"})
    assert numbers(response) == ["CCW-30000008", "CCW-30000007"]
    assert [row.days_overdue for row in response.context["page"].object_list] == [8, 7]


def test_it_paginates(client, world, anne):
    for n in range(30):
        EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=3), account_rep=anne)
    jobs.flag_stalled_provisioning(NOW)
    client.force_login(anne)
    first = client.get(URL)
    assert len(numbers(first)) == 25 and first.context["page"].paginator.count == 33
    second = client.get(URL, {"page": 2})
    assert len(numbers(second)) == 8
    assert "page=2" in first.content.decode()


def test_the_query_count_does_not_depend_on_the_page_size(client, world, anne, django_assert_max_num_queries):
    for n in range(120):
        EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=1 + n % 9), account_rep=anne)
    jobs.flag_stalled_provisioning(NOW)
    client.force_login(anne)
    counts = []
    for per_page in (25, 200):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"per_page": per_page, "reps": "all"})
        assert len(numbers(response)) == min(per_page, 124)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # user, groups, count, page, failing deployment emails, chart, failing outbox emails
    with django_assert_max_num_queries(8):
        client.get(URL, {"per_page": 200})


def failing_panel(page):
    start = page.index('id="failing-title"')
    return page[start:page.index("</section>", start)]


def test_a_failing_deployment_email_shows_on_its_start_date_before_the_order_stalls(
        client, anne, settings, mailoutbox):
    OrderFactory(requested_start_date=TODAY, account_rep=anne, number="CCW-20000000")
    OrderFactory(requested_start_date=TODAY, number="CCW-20000001")  # another rep's
    settings.EMAIL_BACKEND = "tests.test_deployment_email.FailingBackend"
    run_at(NOW)
    client.force_login(anne)

    response = client.get(URL)
    assert numbers(response) == []  # not stalled until tomorrow
    panel = failing_panel(response.content.decode())
    for text in ["1 deployment email failing", "CCW-20000000", "1 attempt", "421 service not available",
                 "Dec. 10, 2026, 10 a.m.", "Dec. 10, 2026, 10:01 a.m.",  # failing since, next attempt
                 "/reps/orders/CCW-20000000/resend/", "/reps/orders/CCW-20000000/contact/"]:
        assert text in panel, text
    assert "CCW-20000001" not in response.content.decode()
    everyone = failing_panel(client.get(URL, {"reps": "all"}).content.decode())
    assert "2 deployment emails failing" in everyone and "CCW-20000001" in everyone

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sweep_at(NOW + datetime.timedelta(minutes=1))["sent"] == 2  # the outbox's retry
    assert 'id="failing-title"' not in client.get(URL).content.decode()  # sent: gone


def test_csv_export_follows_the_current_filter(client, world, anne):
    client.force_login(anne)
    response = client.get(URL, {"setup": "never", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:6] == ["Order number", "Partner", "Customer", "Product", "Start date", "Days overdue"]
    assert [(r[0], r[5]) for r in rows[1:]] == [("CCW-10000009", "9"), ("CCW-10000005", "5")]
    assert rows[0][-1] == "Account representative"
    assert [r[-1] for r in rows[1:]] == ["anne@vendor.example"] * 2


def test_csv_dates_are_iso_whatever_the_language(client, world, anne):
    Provisioning.objects.filter(pk=world["never"].pk).update(email_sent_at=local(TODAY - datetime.timedelta(days=9), 9))
    client.force_login(anne)
    for language in ("en", "fr"):
        response = client.get(URL, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE=language)
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert (rows[1][4], rows[1][7]) == ("2026-12-01", "2026-12-01 09:00")


def test_csv_cells_cannot_run_as_spreadsheet_formulas(client, world, anne):
    EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=3), account_rep=anne,
                 partner_name='=HYPERLINK("http://evil.example","x")')
    jobs.flag_stalled_provisioning(NOW)
    client.force_login(anne)
    body = b"".join(client.get(URL, {"format": "csv"}).streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in body and ',=HYPERLINK' not in body


def test_the_chart_counts_orders_stalled_and_set_up_per_day(client, world, anne):
    client.force_login(anne)
    response = client.get(URL)
    chart = response.context["chart"]
    assert (chart["stalled"], chart["set_up"]) == (4, 1)  # Anne's 4 flagged today, 1 set up since
    page = response.content.decode()
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "<rect" in svg and "<script" not in svg  # drawn by the server, no script
    assert "<title>Dec. 10, 2026: 4 stalled</title>" in svg  # each bar's tooltip: day, count, kind
    assert "<title>Dec. 10, 2026: 1 set up</title>" in svg
    assert "Over the last 30 days: 4 orders stalled, 1 order set up." in page


def test_the_chart_title_uses_plurals_in_french_too(client, world, anne):
    client.force_login(anne)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Sur les 30 derniers jours : 4 commandes bloquées, 1 commande installée." in page


# --- Row actions -------------------------------------------------------------------------------

def test_resend_from_the_dashboard_asks_then_sends(client, world, anne, mailoutbox):
    client.force_login(anne)
    url = "/reps/orders/CCW-10000009/resend/"
    page = client.get(url, {"next": URL})
    assert page.status_code == 200 and b"Resend the email" in page.content and mailoutbox == []

    response = client.post(url, {"next": URL + "?setup=never"})
    assert response.status_code == 302 and response["Location"] == URL + "?setup=never"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["webex-deploy@partner.example"]
    assert Event.objects.get(order=world["never"], kind=Event.Kind.RESENT).actor == anne


def test_the_dashboard_refuses_to_resend_for_an_order_already_set_up(client, world, anne, mailoutbox):
    client.force_login(anne)
    url = "/reps/orders/CCW-10000004/resend/"
    page = client.get(url)
    assert b"already set up" in page.content and b"Resend the email" not in page.content
    client.post(url)
    assert mailoutbox == []


def test_change_contact_from_the_dashboard(client, world, anne, mailoutbox):
    client.force_login(anne)
    response = client.post("/reps/orders/CCW-10000002/contact/",
                           {"email": "marc@partner.example", "apply_to_lines": "on"})
    assert response.status_code == 302
    assert mailoutbox[0].to == ["marc@partner.example"]
    world["begun"].refresh_from_db()
    assert world["begun"].deployment_contact_email == "marc@partner.example"
    assert set(world["begun"].lines.values_list("deployment_contact_email", flat=True)) == {"marc@partner.example"}


def test_change_contact_from_the_dashboard_asks_first(client, world, anne, mailoutbox):
    client.force_login(anne)
    page = client.get("/reps/orders/CCW-10000002/contact/", {"next": URL}).content.decode()
    assert "<h1>Change the deployment contact</h1>" in page
    assert "the link sent to it@fromagerie.example stops working" in page
    assert 'name="email"' in page and "Change and send the email" in page
    assert f'<input type="hidden" name="next" value="{URL}">' in page
    assert mailoutbox == []
    assert Event.objects.filter(kind=Event.Kind.CONTACT_CHANGED).count() == 0


def test_the_dashboard_refuses_to_change_the_contact_of_an_order_already_set_up(client, world, anne, mailoutbox):
    client.force_login(anne)
    url = "/reps/orders/CCW-10000004/contact/"
    page = client.get(url).content.decode()
    assert "Order CCW-10000004 is already set up" in page
    assert 'name="email"' not in page and "Change and send the email" not in page

    response = client.post(url, {"email": "late@partner.example", "apply_to_lines": "on"})
    assert response.status_code == 200 and "already set up" in response.content.decode()
    assert mailoutbox == []
    world["set_up"].refresh_from_db()
    assert world["set_up"].deployment_contact_email == "webex-deploy@partner.example"


def test_change_contact_needs_a_valid_email(client, world, anne, mailoutbox):
    client.force_login(anne)
    response = client.post("/reps/orders/CCW-10000002/contact/", {"email": "not an email"})
    assert response.status_code == 200 and mailoutbox == []


def test_mark_contacted_records_the_note(client, world, anne):
    client.force_login(anne)
    client.post("/reps/orders/CCW-10000009/contacted/", {"note": "Called Paul, setup on Monday."})
    event = Event.objects.get(order=world["never"], kind=Event.Kind.CONTACTED)
    assert (event.note, event.actor) == ("Called Paul, setup on Monday.", anne)
    assert Provisioning.objects.get(pk=world["never"].pk).last_contacted_at == NOW
    assert "Rep contacted the partner" in client.get(URL).content.decode()  # the row's last action


def test_the_row_shows_the_reps_last_contact_note(client, world, anne):
    client.force_login(anne)
    client.post("/reps/orders/CCW-10000009/contacted/", {"note": "Called Paul, setup on Monday."})
    long_note = "Spoke to Inès at Réseaux Alpins: " + "the customer's IT team is waiting for a firewall change. " * 3
    client.post("/reps/orders/CCW-10000005/contacted/", {"note": long_note})
    page = client.get(URL).content.decode()
    assert '<span class="sub note">Called Paul, setup on Monday.</span>' in page
    details = html.unescape(page[page.index('<details class="note">'):page.index("</details>")])
    excerpt = details[details.index("<summary>") + 9:details.index("</summary>")]
    assert excerpt.endswith("…") and len(excerpt) <= 80 and long_note.startswith(excerpt[:-1])
    assert long_note.strip() in details  # the full note, one click away


def test_the_other_lines_choice_is_offered_only_for_an_order_with_several_lines(client, world, anne, mailoutbox):
    single = EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=3), account_rep=anne,
                          number="CCW-10000003", lines=["calling"])
    client.force_login(anne)
    assert "Apply to the order" in client.get("/reps/orders/CCW-10000002/contact/").content.decode()
    page = client.get("/reps/orders/CCW-10000003/contact/").content.decode()
    assert "Apply to the order" not in page and 'name="email"' in page

    client.post("/reps/orders/CCW-10000003/contact/", {"email": "marc@partner.example"})
    assert mailoutbox[0].to == ["marc@partner.example"]
    assert list(single.lines.values_list("deployment_contact_email", flat=True)) == ["marc@partner.example"]


def test_dates_read_the_same_way_as_on_other_pages_in_both_languages(client, world, anne):
    client.force_login(anne)
    page = client.get(URL).content.decode()
    assert "Dec. 1, 2026" in page and "12/01/2026" not in page and "12/10/2026" not in page
    french = client.get(URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "1er décembre 2026" in french and "01/12/2026" not in french


def test_an_email_address_may_wrap_only_after_its_at_sign(client, world, anne):
    client.force_login(anne)
    page = client.get(URL).content.decode()
    assert ('<td class="email"><span class="nobr">webex-deploy@</span><wbr>'
            '<span class="nobr">partner.example</span></td>') in page


def test_actions_are_posts_with_csrf(world, anne, mailoutbox):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(anne)
    assert client.post("/reps/orders/CCW-10000009/resend/").status_code == 403
    assert mailoutbox == []


def test_a_closed_order_can_be_reopened_from_the_dashboard(client, world, anne):
    Provisioning.objects.filter(pk=world["never"].pk).update(status=Status.CLOSED)
    client.force_login(anne)
    assert b"/reps/orders/CCW-10000009/reopen/" in client.get(URL).content
    client.post("/reps/orders/CCW-10000009/reopen/")
    provisioning = Provisioning.objects.get(pk=world["never"].pk)
    # Its email had gone out (a stalled order's had): a fresh link went out at once.
    assert provisioning.status == Status.EMAIL_SENT and provisioning.email_sent_at is not None
    assert provisioning.window_closes_at == NOW + datetime.timedelta(days=30)


def test_reopening_an_emailed_order_from_the_dashboard_emails_a_fresh_link(client, world, anne, mailoutbox):
    from provisioning.models import SetupLink

    order = world["begun"]
    old = links.issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    Provisioning.objects.filter(pk=order.pk).update(status=Status.CLOSED, email_sent_at=NOW)
    client.force_login(anne)
    url = "/reps/orders/CCW-10000002/reopen/"
    page = client.get(url).content.decode()
    assert "a new Set up now link is sent to it@fromagerie.example at once" in page and mailoutbox == []

    response = client.post(url, {"next": URL}, follow=True)
    assert [m.to for m in mailoutbox] == [["it@fromagerie.example"]]
    assert "a new link is on its way to it@fromagerie.example" in response.content.decode()
    assert links.check_link(old).problem == links.LinkProblem.SUPERSEDED
    assert Event.objects.get(order=order, kind=Event.Kind.REOPENED).actor == anne


def test_the_dashboard_speaks_french(client, world, anne):
    client.force_login(anne)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="fr"' in page
    for text in ["Commandes bloquées", "Jours de retard", "Renvoyer", "Exporter en CSV"]:
        assert text in page


def test_the_chart_keeps_past_days_and_counts_today_live(client, world, anne,
                                                          django_assert_max_num_queries):
    from provisioning.selectors import daily_chart

    client.force_login(anne)
    first = client.get(URL).context["chart"]
    before = daily_chart(anne)
    for at in (NOW - datetime.timedelta(days=1), NOW):  # one written late for yesterday, one today
        late = EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=5), account_rep=anne)
        Event.objects.create(order=late, kind=Event.Kind.STALLED, at=at)

    with django_assert_max_num_queries(8):
        again = client.get(URL).context["chart"]
    after = daily_chart(anne)

    assert again["stalled"] == first["stalled"] + 1  # today's event counts at once
    assert after[-1]["stalled"] == before[-1]["stalled"] + 1
    assert after[-2]["stalled"] == before[-2]["stalled"]  # past days come from the cache


# --- Query budgets of the row actions and the export ---------------------------------------------

# Measured: the session, the rep and their groups, the order with its provisioning and lines,
# the checks of the state, then for a POST the change itself (link, history, outbox) and its
# transaction; a change of contact also writes the previous contact's notice to the outbox.
# The POSTs write the deployment email to the outbox (the order's lines, the email, the order
# told: 3 queries; the order is locked already, no job can claim it) and include the worker's
# delivery, which the suite runs in the request (tests/conftest.py): the email locked, marked
# sent, the order recorded, its link.
# Resend, change of contact and re-open also clear the address they send to of any bounce
# (provisioning/delivery.py): one DELETE each.
ACTION_BUDGETS = {
    ("resend", "get"): 4, ("resend", "post"): 22,
    ("contact", "get"): 5, ("contact", "post"): 25,
    ("contacted", "get"): 4, ("contacted", "post"): 8,
    ("reopen", "get"): 4, ("reopen", "post"): 23,  # a stalled order's re-open emails a new link
}
ACTION_DATA = {"contact": {"email": "marc@partner.example"}, "contacted": {"note": "Called."}}


@pytest.mark.parametrize("action, method", sorted(ACTION_BUDGETS))
def test_each_row_action_stays_within_its_query_budget(client, world, anne, action, method,
                                                       mailoutbox):
    if action == "reopen":
        Provisioning.objects.filter(pk=world["never"].pk).update(status=Status.CLOSED)
    client.force_login(anne)
    url = f"/reps/orders/CCW-10000009/{action}/"
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, ACTION_DATA.get(action, {}) if method == "post" else {})
    assert response.status_code in (200, 302)
    assert len(queries) <= ACTION_BUDGETS[(action, method)]


def test_the_csv_export_costs_the_same_for_few_rows_or_many(client, world, anne):
    client.force_login(anne)

    def export_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"format": "csv", "reps": "all"})
            rows = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
        return len(queries), len(rows)

    few = export_queries()
    for n in range(30):
        EmailedOrderFactory(requested_start_date=TODAY - datetime.timedelta(days=2 + n % 5), account_rep=anne)
    jobs.flag_stalled_provisioning(NOW)
    many = export_queries()
    assert many[1] == few[1] + 30
    assert many[0] == few[0]


def test_an_order_waiting_for_the_partner_s_approval_says_so_and_can_be_filtered(client, world,
                                                                                 anne):
    from orgs.models import JoinRequest
    from tests.factories import PartnerOrgFactory

    org = PartnerOrgFactory(external_id="PTN-4411")
    JoinRequest.objects.create(organization=org, email="ines@partner.example",
                               order=world["begun"], nonce="n1")
    JoinRequest.objects.create(organization=org, email="old@partner.example", order=world["never"],
                               nonce="n2", status=JoinRequest.Status.DECLINED)
    client.force_login(anne)
    response = client.get(URL)
    rows = {row.order.number: row.waiting_approval for row in response.context["page"].object_list}
    assert rows == {"CCW-10000009": False, "CCW-10000005": False, "CCW-10000002": True}
    assert visible_text(response).count("Waiting for the partner's approval") == 2  # filter + row
    assert numbers(client.get(URL, {"setup": "waiting_approval"})) == ["CCW-10000002"]
