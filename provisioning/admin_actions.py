"""Admin actions on orders that change provisioning (resend, change contact, re-open).
orders/admin.py adds ORDER_ACTIONS to the Order changelist. Each shows a confirmation page
first (the standard admin pattern: the page posts back with `post=yes`)."""
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from orders.models import Product
from provisioning import lifecycle, services
from provisioning.forms import ChangeContactForm


def _confirm(modeladmin, request, queryset, action, title, explanation, form=None, refused=()):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title, "explanation": explanation, "orders": queryset, "refused": refused,
        "form": form, "action": action, "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "provisioning/admin/confirm_action.html", context)


def _allowed(request):
    if request.user.has_perm("provisioning.change_provisioning"):
        return True
    messages.error(request, _("You may not change provisioning."))
    return False


def _report(modeladmin, request, done, refusals, failures, done_message):
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)
    for refusal in refusals:
        modeladmin.message_user(request, refusal, messages.WARNING)
    for number, error in failures:
        modeladmin.message_user(
            request, _("Order %(number)s: the mail server refused the email (%(error)s); it will be "
                       "retried automatically.") % {"number": number, "error": error}, messages.ERROR)


def _refusals(queryset, user=None):
    """Why each order would be refused: its state, and (for a change of contact) who asks."""
    refused = []
    for order in queryset.select_related("provisioning"):
        try:
            if user is not None:
                services.check_may_change_contact(user, order)
            services.check_email_can_change(order.provisioning, timezone.now())
        except services.NotAllowed as exc:
            refused.append(str(exc))
    return refused


@admin.action(description=gettext_lazy("Resend the deployment email (new link)"))
def resend_deployment_email(modeladmin, request, queryset):
    if not _allowed(request):
        return None
    if request.POST.get("post") != "yes":
        return _confirm(modeladmin, request, queryset, "resend_deployment_email",
                        _("Resend the deployment email"),
                        _("Each order's deployment contact gets the email again at once, with a new "
                          "Set up now link; the link sent before stops working."),
                        refused=_refusals(queryset))
    done, refusals, failures = 0, [], []
    for order in queryset.select_related("provisioning"):
        try:
            outcome = services.resend_deployment_email(order, actor=request.user)
        except services.NotAllowed as exc:
            refusals.append(str(exc))
            continue
        done += outcome.ok
        if not outcome.ok:
            failures.append((order.number, outcome.error))
    _report(modeladmin, request, done, refusals, failures, _("%(count)d deployment email(s) resent."))
    return None


@admin.action(description=gettext_lazy("Change the deployment contact and send the email"))
def change_deployment_contact(modeladmin, request, queryset):
    if not _allowed(request):
        return None
    form = ChangeContactForm(request.POST if request.POST.get("post") == "yes" else None,
                             multi_line=queryset.annotate(n=Count("lines")).filter(n__gt=1).exists())
    if not form.is_bound or not form.is_valid():
        return _confirm(modeladmin, request, queryset, "change_deployment_contact",
                        _("Change the deployment contact"),
                        _("The deployment email is sent at once to the new contact with a new Set up "
                          "now link; the link sent to the previous contact stops working."),
                        form=form, refused=_refusals(queryset, request.user))
    done, refusals, failures = 0, [], []
    for order in queryset.select_related("provisioning"):
        try:
            outcome = services.change_deployment_contact(
                order, form.cleaned_data["email"], form.applies_to_lines(), actor=request.user)
        except services.NotAllowed as exc:
            refusals.append(str(exc))
            continue
        done += outcome.ok
        if not outcome.ok:
            failures.append((order.number, outcome.error))
    _report(modeladmin, request, done, refusals, failures,
            _("%(count)d order(s) now have the new deployment contact, who was emailed."))
    return None


@admin.action(description=gettext_lazy("Re-open the setup window"))
def reopen_setup_window(modeladmin, request, queryset):
    if not _allowed(request):
        return None
    if request.POST.get("post") != "yes":
        refused = [services.not_closed(o) for o in queryset.select_related("provisioning")
                   if not lifecycle.can_reopen(o.provisioning)]
        return _confirm(modeladmin, request, queryset, "reopen_setup_window",
                        _("Re-open the setup window"),
                        _("Each closed order gets a new setup window (%(days)s days, %(flex_days)s for "
                          "A-FLEX) from now. If its deployment email had gone out, a new Set up now link "
                          "is emailed at once and the link sent before stops working.")
                        % {"days": lifecycle.window_length(Product.A_WX).days,
                           "flex_days": lifecycle.window_length(Product.A_FLEX).days},
                        refused=refused)
    done, refusals, failures = 0, [], []
    for order in queryset:
        try:
            reopened = services.reopen(order, actor=request.user)
        except services.NotAllowed as exc:
            refusals.append(str(exc))
            continue
        done += 1
        if reopened.email is not None and not reopened.email.ok:
            failures.append((order.number, reopened.email.error))
    _report(modeladmin, request, done, refusals, failures, _("%(count)d order(s) re-opened."))
    return None


ORDER_ACTIONS: list = [resend_deployment_email, change_deployment_contact, reopen_setup_window]
