"""{% stalled_rows %} writes the dashboard's rows as provisioning/stalled.html's loop wrote them
(below, word for word): rows in every state a rep can meet, in both languages."""
import datetime

import pytest
import time_machine
from django.template import Context, Template
from django.utils import translation

from orgs.models import JoinRequest
from provisioning import jobs, lifecycle
from provisioning.models import Event, Provisioning, Status
from tests.factories import EmailedOrderFactory, PartnerOrgFactory, RepFactory
from tests.helpers import local

pytestmark = pytest.mark.django_db

LOOP_IT_REPLACES = (
    '    {# Each row\'s labels, translated once for all the rows. #}{% translate "Closed" as closed_label %}{% translate "Failing" as failing_label %}{% translate "Not yet" as not_yet_label %}{% translate "Never" as never_label %}{% translate "Waiting for the partner\'s approval" as waiting_label %}{% translate "Contacted" as contacted_label %}{% translate "Re-open" as reopen_label %}{% translate "Resend" as resend_label %}{% translate "Change contact" as change_contact_label %}{% translate "Mark contacted" as mark_contacted_label %}{% translate "Open in admin" as admin_label %}{% for row in page.object_list %}{% with order=row.order %}\n'
    '    <tr>\n'
    '      <th scope="row">{{ order.number }}{% if row.status == "closed" %} <span class="tag bad">{{ closed_label }}</span>{% endif %}</th>\n'
    '      <td>{{ order.partner_name }}<span class="sub">{{ order.customer_name }}</span></td>\n'
    '      <td>{{ order.product }}</td>\n'
    '      <td class="date">{{ order.requested_start_date|long_date }}</td>\n'
    '      <td class="num overdue">{{ row.days_overdue }}</td>\n'
    '      <td class="email">{{ order.deployment_contact_email|email_wrap }}</td>\n'
    '      <td class="date">{% if row.email_sent_at %}<span title="{{ row.email_sent_at|long_datetime }}">{{ row.email_sent_at|long_date }}</span>{% if row.email_delivery == "bounced" or row.email_delivery == "rejected" %} <span class="tag bad" title="{{ row.email_delivery_reason }}">{{ row.get_email_delivery_display }}</span>{% endif %}\n'
    '          {% elif row.email_failed_at %}<span class="tag bad" title="{{ row.email_last_error }}">{{ failing_label }}</span> <span class="muted">{% blocktranslate count counter=row.email_attempts %}{{ counter }} attempt{% plural %}{{ counter }} attempts{% endblocktranslate %}</span>\n'
    '          {% else %}<span class="muted">{{ not_yet_label }}</span>{% endif %}</td>\n'
    '      <td class="date">{% if row.setup_begun_at %}<span class="tag ok" title="{{ row.setup_begun_at|long_datetime }}">{{ row.setup_begun_at|long_date }}</span>{% else %}<span class="muted">{{ never_label }}</span>{% endif %}\n'
    '          {% if row.waiting_approval %}<span class="tag warn">{{ waiting_label }}</span>{% endif %}</td>\n'
    '      <td>{% if row.last_event_kind %}{{ row.last_event_label }}<span class="sub" title="{{ row.last_event_at|long_datetime }}">{{ row.last_event_at|long_date }}</span>{% endif %}\n'
    '          {% if row.last_contacted_at %}<span class="sub">{{ contacted_label }} {{ row.last_contacted_at|long_date }}</span>{% endif %}\n'
    '          {% if row.last_contact_note %}{% if row.last_contact_note|length > 80 %}<details class="note"><summary>{{ row.last_contact_note|truncatechars:80 }}</summary><p>{{ row.last_contact_note|linebreaksbr }}</p></details>\n'
    '          {% else %}<span class="sub note">{{ row.last_contact_note }}</span>{% endif %}{% endif %}</td>\n'
    '      <td><div class="row-actions">\n'
    '        {% if row.can_reopen %}<a href="{{ row.urls.reopen }}?next={{ next_quoted }}">{{ reopen_label }}</a>\n'
    '        {% else %}<a href="{{ row.urls.resend }}?next={{ next_quoted }}">{{ resend_label }}</a>\n'
    '        <a href="{{ row.urls.change_contact }}?next={{ next_quoted }}">{{ change_contact_label }}</a>{% endif %}\n'
    '        <a href="{{ row.urls.contacted }}?next={{ next_quoted }}">{{ mark_contacted_label }}</a>\n'
    '        {% if row.urls.admin %}<a href="{{ row.urls.admin }}">{{ admin_label }}</a>{% endif %}\n'
    '      </div></td>\n'
    '    </tr>\n'
    '    {% endwith %}{% endfor %}\n'
)

TODAY = datetime.date(2026, 12, 1)
NOW = local(TODAY, 10)
LONG_NOTE = "Called <b>twice</b> & left a message;\nthey will call back " + "after the holidays " * 4


@pytest.fixture
def rows_page(client):
    """The rep's dashboard, as the view hands it to its template, with one row in each state."""
    with time_machine.travel(NOW, tick=False):
        rep = RepFactory(email="rows@vendor.example")

        def order(number, days_ago, **kwargs):
            return EmailedOrderFactory(number=number, account_rep=rep,
                                       requested_start_date=TODAY - datetime.timedelta(days=days_ago),
                                       **kwargs)

        orders = {
            "plain": order("CCW-1", 3, partner_name="Réseaux <Alpins> & \"Fils\"",
                           customer_name="L'Hôtel", deployment_contact_email="it-desk@hotel.example"),
            "bounced": order("CCW/2026/2", 4),
            "rejected": order("CCW-2b", 4),
            "failing": order("CCW-3", 5),
            "once": order("CCW-4", 6),
            "not_yet": order("CCW-5", 7),
            "begun": order("CCW-6", 8),
            "closed": order("CCW-7", 1200),
            "noted": order("CCW-8", 9),
            "long_note": order("CCW-9", 10),
            "just_long": order("CCW-10", 11),
        }
        jobs.flag_stalled_provisioning(NOW)
        rows = Provisioning.objects.filter
        rows(pk=orders["bounced"].pk).update(email_delivery="bounced",
                                             email_delivery_reason="550 <user> unknown & gone",
                                             email_delivery_at=NOW)
        rows(pk=orders["rejected"].pk).update(email_delivery="rejected", email_delivery_at=NOW,
                                              email_delivery_reason="policy")
        rows(pk=orders["failing"].pk).update(email_sent_at=None, email_failed_at=NOW,
                                             email_attempts=3, email_last_error="421 \"busy\" <later>")
        rows(pk=orders["once"].pk).update(email_sent_at=None, email_failed_at=NOW, email_attempts=1)
        rows(pk=orders["not_yet"].pk).update(email_sent_at=None)
        rows(pk=orders["begun"].pk).update(setup_begun_at=NOW - datetime.timedelta(hours=30))
        rows(pk=orders["closed"].pk).update(status=Status.CLOSED)
        JoinRequest.objects.create(organization=PartnerOrgFactory(), email="ines@partner.example",
                                   order=orders["begun"], nonce="n1")
        lifecycle.mark_contacted(orders["noted"], "Rappel <lundi> & mardi", actor=rep)
        lifecycle.mark_contacted(orders["long_note"], LONG_NOTE, actor=rep)
        lifecycle.mark_contacted(orders["just_long"], "x" * 81, actor=rep)  # one over the 80 shown
        Event.objects.create(order=orders["plain"], kind=Event.Kind.REMINDED, at=NOW)
        client.force_login(rep)
        response = client.get("/reps/stalled/", {"product": ""})
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_rows_are_written_as_the_template_loop_wrote_them(rows_page, language):
    context = rows_page.context
    rows = list(context["page"].object_list)
    assert len(rows) == 11
    rows[0].urls = dict(rows[0].urls, admin="")  # where the admin is not mounted
    old = Template("{% load i18n order_dates reps %}" + LOOP_IT_REPLACES)
    tag = Template("{% load reps %}    {% stalled_rows page.object_list next_quoted %}\n")
    values = {"page": {"object_list": rows}, "next_quoted": context["next_quoted"]}
    with translation.override(language):
        written = tag.render(Context(values))
        assert written == old.render(Context(values))
    states = ("Closed", "Failing", "3 attempts", "1 attempt", "Not yet", "Never", "Bounced", "Rejected",
              "Waiting for the partner's approval", "Contacted", "<details", "Re-open",
              "Change contact", "Open in admin", "&lt;Alpins&gt; &amp; &quot;Fils&quot;")
    if language == "en":  # every branch of the loop is in the comparison above
        for state in states:
            assert state in written, state


def test_the_page_shows_the_rows_the_tag_writes(rows_page):
    page = rows_page.content.decode()
    rows = Template("{% load reps %}{% stalled_rows page.object_list next_quoted %}").render(
        Context({"page": rows_page.context["page"], "next_quoted": rows_page.context["next_quoted"]}))
    assert rows.strip() and rows in page
