"""The account-rep dashboard: thin views over selectors (reads) and services (changes)."""
import csv
from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from config.reversing import reverse_with
from orders.dates import long_date
from orders.models import Order
from provisioning import charts, lifecycle, selectors, services
from provisioning.forms import ChangeContactForm, ContactedForm, StalledFilterForm
from provisioning.models import Event


def rep_required(view):
    """Anonymous → sign in; signed in but not an account rep → 403."""
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not selectors.is_rep(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapper


@rep_required
def stalled(request):
    form = StalledFilterForm(request.GET or None)
    filters = form.filters()
    if request.GET.get("format") == "csv":
        return _csv(selectors.stalled_orders(request.user, **filters, with_rep=True))
    rows = selectors.stalled_orders(request.user, **filters)
    page = Paginator(rows, form.page_size()).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for row in page:
        row.urls = _row_urls(row.order)
        row.days_overdue = selectors.days_overdue(row, today)
        row.last_event_label = Event.Kind(row.last_event_kind).label if row.last_event_kind else ""
        row.can_reopen = lifecycle.can_reopen(row)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    everyone = filters["everyone"]
    failing_deployment = selectors.failing_deployment_emails(request.user, everyone)
    return render(request, "provisioning/stalled.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "failing_deployment": failing_deployment,
        "failing_deployment_total": failing_deployment[0].total if failing_deployment else 0,
        "chart": charts.daily_bars(selectors.daily_chart(request.user, everyone)),
        "failing_emails": selectors.failing_emails(request.user, everyone),
        "next_quoted": quote(request.get_full_path(), safe="/"),
    })


ROW_ACTIONS = ("reopen", "resend", "change_contact", "contacted")


def _row_urls(order):
    """The row's action links, and its order's page in the admin ("" where it is not mounted)."""
    urls = {name: reverse_with(f"provisioning:{name}", order.number) for name in ROW_ACTIONS}
    try:
        urls["admin"] = reverse_with("admin:orders_order_change", order.pk)
    except NoReverseMatch:
        urls["admin"] = ""
    return urls


def _cell(value):
    """Spreadsheets run a cell that starts with = + - @ as a formula: neutralise imported text."""
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class _Echo:
    def write(self, value):
        return value


def _csv(rows):
    writer = csv.writer(_Echo())
    header = [_("Order number"), _("Partner"), _("Customer"), _("Product"), _("Start date"),
              _("Days overdue"), _("Deployment contact"), _("Email sent"), _("Email failing since"),
              _("Setup begun"), _("Last action"), _("Last action at"), _("Account representative")]
    today = timezone.localdate()

    def when(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    def lines():
        yield "\ufeff" + writer.writerow(header)  # the BOM makes spreadsheets read UTF-8
        for row in rows.iterator(chunk_size=500):
            order = row.order
            yield writer.writerow([_cell(value) for value in [
                order.number, order.partner_name, order.customer_name, order.product,
                order.requested_start_date.isoformat(), selectors.days_overdue(row, today),
                order.deployment_contact_email, when(row.email_sent_at), when(row.email_failed_at),
                when(row.setup_begun_at),
                Event.Kind(row.last_event_kind).label if row.last_event_kind else "",
                when(row.last_event_at), order.account_rep.email]])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="stalled-orders-{timezone.localdate():%Y-%m-%d}.csv"')
    return response


def _back(request):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("provisioning:stalled")


def _order(number):
    return get_object_or_404(Order.objects.select_related("provisioning", "account_rep"), number=number)


def _refusal(order):
    try:
        services.check_email_can_change(order.provisioning, timezone.now())
    except services.NotAllowed as refusal:
        return str(refusal)
    return ""


def _sent_message(request, order, outcome):
    if outcome.to_customer_admin:
        messages.success(request, _("Order %(number)s was handed to the customer: its customer "
                                    "administrator %(email)s gets a new setup link; the previous "
                                    "link no longer works.")
                         % {"number": order.number, "email": outcome.queued_to})
    elif outcome.queued_to:
        messages.success(request, _("The deployment email of order %(number)s is on its way to "
                                    "%(email)s with a new link; the previous link no longer works. "
                                    "If the mail server refuses it, it shows under failing emails "
                                    "here and is retried.")
                         % {"number": order.number, "email": outcome.queued_to})
    elif outcome.sent:
        messages.success(request, _("The deployment email of order %(number)s was sent to %(email)s "
                                    "with a new link; the previous link no longer works.")
                         % {"number": order.number, "email": order.deployment_contact_email})
    else:
        messages.error(request, _("The new link for order %(number)s is ready but the mail server "
                                  "refused the email (%(error)s); it will be retried automatically.")
                       % {"number": order.number, "error": outcome.error})


@rep_required
@require_http_methods(["GET", "POST"])
def resend(request, number):
    order = _order(number)
    refusal = _refusal(order)
    if request.method == "POST" and not refusal:
        try:
            outcome = services.resend_deployment_email(order, actor=request.user)
        except services.NotAllowed as exc:
            refusal = str(exc)
        else:
            _sent_message(request, order, outcome)
            return redirect(_back(request))
    return render(request, "provisioning/confirm.html", {
        "order": order, "refusal": refusal, "next": _back(request),
        "title": _("Resend the deployment email"), "button": _("Resend the email"),
        "explanation": _("A new Set up now link is sent to %(email)s at once; the link sent "
                         "before stops working.") % {"email": order.deployment_contact_email}})


@rep_required
@require_http_methods(["GET", "POST"])
def change_contact(request, number):
    order = _order(number)
    try:
        services.check_may_change_contact(request.user, order)
    except services.NotYours as exc:
        return render(request, "provisioning/confirm.html", {
            "order": order, "refusal": str(exc), "next": _back(request),
            "title": _("Change the deployment contact")}, status=403)
    refusal = _refusal(order)
    form = ChangeContactForm(request.POST if request.method == "POST" else None,
                             multi_line=order.lines.count() > 1)
    if request.method == "POST" and not refusal and form.is_valid():
        try:
            outcome = services.change_deployment_contact(
                order, form.cleaned_data["email"], form.applies_to_lines(), actor=request.user)
        except services.NotYours as exc:  # the order's rep changed meanwhile
            return render(request, "provisioning/confirm.html", {
                "order": order, "refusal": str(exc), "next": _back(request),
                "title": _("Change the deployment contact")}, status=403)
        except services.NotAllowed as exc:
            refusal = str(exc)
        else:
            _sent_message(request, order, outcome)
            return redirect(_back(request))
    return render(request, "provisioning/confirm.html", {
        "order": order, "refusal": refusal, "form": form, "next": _back(request),
        "title": _("Change the deployment contact"), "button": _("Change and send the email"),
        "explanation": _("The deployment email is sent at once to the new contact with a new "
                         "Set up now link; the link sent to %(email)s stops working.")
        % {"email": order.deployment_contact_email}})


@rep_required
@require_http_methods(["GET", "POST"])
def contacted(request, number):
    order = _order(number)
    form = ContactedForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        lifecycle.mark_contacted(order, form.cleaned_data["note"], actor=request.user)
        messages.success(request, _("Your contact with the partner of order %(number)s is recorded.")
                         % {"number": order.number})
        return redirect(_back(request))
    return render(request, "provisioning/confirm.html", {
        "order": order, "form": form, "next": _back(request),
        "title": _("Mark the partner as contacted"), "button": _("Record the contact"),
        "explanation": _("Record that you contacted the partner about this order, with a note.")})


@rep_required
@require_http_methods(["GET", "POST"])
def reopen(request, number):
    order = _order(number)
    refusal = "" if lifecycle.can_reopen(order.provisioning) else services.not_closed(order)
    if request.method == "POST" and not refusal:
        try:
            reopened = services.reopen(order, actor=request.user)
        except services.NotAllowed as exc:
            refusal = str(exc)
        else:
            _reopened_message(request, order, reopened)
            return redirect(_back(request))
    days = lifecycle.window_length(order.product).days
    if lifecycle.reopen_sends_new_link(order.provisioning):
        explanation = _("The order gets a new setup window of %(days)s days from now and a new Set up "
                        "now link is sent to %(email)s at once; the link sent before stops working.") \
            % {"days": days, "email": order.deployment_contact_email}
    else:
        explanation = _("The order's setup links work again for %(days)s days from now.") % {"days": days}
    return render(request, "provisioning/confirm.html", {
        "order": order, "refusal": refusal, "next": _back(request),
        "title": _("Re-open the setup window"), "button": _("Re-open"), "explanation": explanation})


def _reopened_message(request, order, reopened):
    values = {"number": order.number, "email": order.deployment_contact_email,
              "date": long_date(timezone.localtime(reopened.provisioning.window_closes_at))}
    if reopened.email is None:
        messages.success(request, _("Order %(number)s is open again until %(date)s; its link works again.")
                         % values)
    elif reopened.email.ok:
        messages.success(request, _("Order %(number)s is open again until %(date)s; a new link is on "
                                    "its way to %(email)s and the previous one no longer works.")
                         % values)
    else:
        messages.error(request, _("Order %(number)s is open again until %(date)s, but the mail server "
                                  "refused the email with its new link (%(error)s); it will be retried "
                                  "automatically and the previous link works until then.")
                       % {**values, "error": reopened.email.error})
