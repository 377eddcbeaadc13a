"""The dashboard's markup written in Python where the template engine was most of the page's
rendering: its rows (`{% stalled_rows %}`), every value of every row looked up through it.

It is what provisioning/stalled.html's loop wrote, character for character
(tests/test_stalled_rows.py holds it to that loop, in both languages and every state a row has)."""
import html

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext, ngettext

from orders.dates import long_date, long_datetime
from provisioning.models import UNDELIVERED, Status

register = template.Library()


@register.filter
def email_wrap(address):
    """An email address that a narrow table cell may wrap only after its @: browsers otherwise
    break after a hyphen ('webex-' / 'deploy@…'), which reads as two addresses."""
    local, at, domain = str(address).rpartition("@")
    if not at:
        return format_html('<span class="nobr">{}</span>', address)
    return format_html('<span class="nobr">{}@</span><wbr><span class="nobr">{}</span>', local, domain)


def _labels():
    # Written as they are, as the template's {% translate %} wrote them: our own translations.
    return {"closed": gettext("Closed"), "failing": gettext("Failing"),
            "not_yet": gettext("Not yet"), "never": gettext("Never"),
            "waiting": gettext("Waiting for the partner's approval"),
            "contacted": gettext("Contacted"), "reopen": gettext("Re-open"),
            "resend": gettext("Resend"), "change_contact": gettext("Change contact"),
            "mark_contacted": gettext("Mark contacted"), "admin": gettext("Open in admin")}


def _day(moment, zone, language):
    """A moment's day and its full text, as `|long_date` and `|long_datetime` write them (in the
    current time zone, as templates convert a moment before these filters)."""
    local = timezone.localtime(moment, zone)
    return _e(long_date(local, language)), _e(long_datetime(local, language))


def _attempts(count):
    return ngettext("%(counter)s attempt", "%(counter)s attempts", count) % {
        "counter": _e(localize(count))}


def _e(text):
    """Django's escape() of text that is never marked safe (the database's, a number's), without
    its checks for lazy and safe strings, made for every value of every row."""
    return html.escape(str(text))


def _row(row, labels, back, zone, language):
    order, urls, e = row.order, row.urls, _e
    closed = f' <span class="tag bad">{labels["closed"]}</span>' if row.status == Status.CLOSED else ""
    if row.email_sent_at:
        day, moment = _day(row.email_sent_at, zone, language)
        bounced = (f' <span class="tag bad" title="{e(row.email_delivery_reason)}">'
                   f'{e(row.get_email_delivery_display())}</span>'
                   if row.email_delivery in UNDELIVERED else "")
        sent = f'<span title="{moment}">{day}</span>{bounced}\n          '
    elif row.email_failed_at:
        sent = (f'<span class="tag bad" title="{e(row.email_last_error)}">{labels["failing"]}</span>'
                f' <span class="muted">{_attempts(row.email_attempts)}</span>\n          ')
    else:
        sent = f'<span class="muted">{labels["not_yet"]}</span>'
    if row.setup_begun_at:
        day, moment = _day(row.setup_begun_at, zone, language)
        begun = f'<span class="tag ok" title="{moment}">{day}</span>'
    else:
        begun = f'<span class="muted">{labels["never"]}</span>'
    waiting = f'<span class="tag warn">{labels["waiting"]}</span>' if row.waiting_approval else ""
    last = ""
    if row.last_event_kind:
        day, moment = _day(row.last_event_at, zone, language)
        last = f'{e(row.last_event_label)}<span class="sub" title="{moment}">{day}</span>'
    contacted = (f'<span class="sub">{labels["contacted"]} '
                 f'{_day(row.last_contacted_at, zone, language)[0]}</span>'
                 if row.last_contacted_at else "")
    note = row.last_contact_note
    if not note:
        note = ""
    elif len(note) > 80:
        note = (f'<details class="note"><summary>{e(Truncator(note).chars(80))}</summary>'
                f'<p>{linebreaksbr(note, autoescape=True)}</p></details>\n          ')
    else:
        note = f'<span class="sub note">{e(note)}</span>'
    if row.can_reopen:
        actions = f'<a href="{e(urls["reopen"])}?next={back}">{labels["reopen"]}</a>\n        '
    else:
        actions = (f'<a href="{e(urls["resend"])}?next={back}">{labels["resend"]}</a>\n        '
                   f'<a href="{e(urls["change_contact"])}?next={back}">'
                   f'{labels["change_contact"]}</a>')
    admin = f'<a href="{e(urls["admin"])}">{labels["admin"]}</a>' if urls["admin"] else ""
    return (
        f'\n    <tr>\n'
        f'      <th scope="row">{e(order.number)}{closed}</th>\n'
        f'      <td>{e(order.partner_name)}<span class="sub">{e(order.customer_name)}</span></td>\n'
        f'      <td>{e(order.product)}</td>\n'
        f'      <td class="date">{e(long_date(order.requested_start_date, language))}</td>\n'
        f'      <td class="num overdue">{e(localize(row.days_overdue))}</td>\n'
        f'      <td class="email">{email_wrap(order.deployment_contact_email)}</td>\n'
        f'      <td class="date">{sent}</td>\n'
        f'      <td class="date">{begun}\n          {waiting}</td>\n'
        f'      <td>{last}\n          {contacted}\n          {note}</td>\n'
        f'      <td><div class="row-actions">\n        {actions}\n'
        f'        <a href="{e(urls["contacted"])}?next={back}">{labels["mark_contacted"]}</a>\n'
        f'        {admin}\n'
        f'      </div></td>\n'
        f'    </tr>\n    ')


@register.simple_tag
def stalled_rows(rows, next_quoted):
    """The dashboard's rows: each carries what the view added (urls, days_overdue,
    last_event_label, can_reopen) to what selectors.stalled_orders selected."""
    labels, back = _labels(), conditional_escape(next_quoted)
    zone, language = timezone.get_current_timezone(), get_language()
    return mark_safe("".join(_row(row, labels, back, zone, language) for row in rows))
