"""The service setup assistant (spec step 11). Each step saves when submitted (real settings,
through provisioning/webex_setup.py); leaving half-way loses nothing, and coming back resumes at the
first step not done."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from config.reversing import reverse_with
from onboarding import countries
from onboarding.access import (authenticated_recently, last_opened, mark_authenticated,
                               user_can_deploy, user_can_manage)
from onboarding.webex_setup_forms import (CallingSettingsForm, MeetingSettingsForm,
                                      ReauthenticateForm, SubdomainForm, meeting_language_choices)
from orders.models import Order
from orgs import subdomains
from provisioning import webex_setup
from provisioning.webex_setup import (CALLING, DEPLOY, ENTERPRISE, MEETINGS, SUBSCRIPTION,
                                 ServiceSetupError)
from provisioning.models import Status

STEP_LABELS = {
    SUBSCRIPTION: gettext_lazy("Subscription details"),
    CALLING: gettext_lazy("Calling settings"),
    MEETINGS: gettext_lazy("Meeting settings"),
    ENTERPRISE: gettext_lazy("Enterprise settings"),
    DEPLOY: gettext_lazy("Deploy and start billing"),
}

ERROR_MESSAGES = {
    ServiceSetupError.CLOSED: gettext_lazy(
        "The setup window of this order has closed. Contact your account representative to "
        "re-open it."),
    ServiceSetupError.NOT_SET_UP: gettext_lazy("This order is not set up yet."),
    ServiceSetupError.LOCKED: gettext_lazy(
        "This organisation's Webex site is already live: its subdomain can no longer change."),
}


class Denied(Exception):
    pass


def _order_for(request, number):
    """The order when a signed-in member of one of its organisations asks; 404 otherwise. A
    setup link opens nothing here: it proves a mailbox, not a membership. An anonymous visitor is
    sent to sign in, whatever the number, so the answer says nothing about which orders exist."""
    if not request.user.is_authenticated:
        raise Denied
    try:
        order = webex_setup.load_order(number=number)
    except Order.DoesNotExist:
        raise Http404 from None
    if not user_can_manage(request.user, order) or order.provisioning.set_up_at is None:
        raise Http404
    return order


def _guarded(view):
    def wrapper(request, number, *args, **kwargs):
        try:
            order = _order_for(request, number)
        except Denied:
            return redirect_to_login(request.get_full_path())
        return view(request, order, *args, **kwargs)
    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def step_url(order, step):
    if step is None or step == "deployed":
        return reverse_with("onboarding:service_deployed", order.number)
    return reverse_with("onboarding:service_step", order.number, step)


def _resume_url(order):
    if order.provisioning.deployed_at:
        return step_url(order, None)
    return step_url(order, webex_setup.first_step_not_done(order))


@require_http_methods(["GET", "HEAD"])
def service_setup(request):
    """The service setup of the order whose link this browser opened last, for a signed-in
    member; otherwise My orders (or the sign-in page)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    number = last_opened(request)
    if number is not None:
        return redirect("onboarding:service_resume", number=number)
    return redirect("onboarding:my_orders")


@require_http_methods(["GET", "HEAD"])
@_guarded
def resume(request, order):
    return redirect(_resume_url(order))


@require_http_methods(["GET", "HEAD"])
@_guarded
def deployed(request, order):
    if not order.provisioning.deployed_at:
        return redirect(_resume_url(order))
    return render(request, "onboarding/webex_setup/deployed.html", _summary(order))


@require_http_methods(["GET", "HEAD", "POST"])
@_guarded
def step(request, order, step):
    steps = webex_setup.steps_for(order)
    if step not in steps:
        raise Http404
    if order.provisioning.deployed_at:
        return redirect(step_url(order, None))
    first_open = webex_setup.first_step_not_done(order)
    if steps.index(step) > steps.index(first_open):
        return redirect(step_url(order, first_open))
    context = _step_context(order, steps, step, first_open)
    try:
        return STEP_VIEWS[step](request, order, context)
    except ServiceSetupError as error:
        if error.code == ServiceSetupError.DEPLOYED:
            return redirect(step_url(order, None))
        if error.code == ServiceSetupError.INCOMPLETE:
            messages.error(request, _("Finish this step before deploying."))
            return redirect(step_url(order, error.missing[0]))
        if error.code == ServiceSetupError.NOT_SET_UP:
            raise Http404 from None
        context["error"] = ERROR_MESSAGES.get(error.code, "")
        return render(request, f"onboarding/webex_setup/{step}.html", context, status=409)


def _step_context(order, steps, current, first_open):
    index = steps.index(current)
    reachable = steps[:steps.index(first_open) + 1]
    done = webex_setup.done_steps(order)
    closed = order.provisioning.status == Status.CLOSED
    return {
        "error": ERROR_MESSAGES[ServiceSetupError.CLOSED] if closed else "",
        "order": order,
        "step": current,
        "step_label": STEP_LABELS[current],
        "step_number": index + 1,
        "step_count": len(steps),
        "steps": [{"key": key, "label": STEP_LABELS[key], "url": step_url(order, key),
                   "done": key in done, "current": key == current, "reachable": key in reachable}
                  for key in steps],
        "back_url": step_url(order, steps[index - 1]) if index else None,
        "next_url": step_url(order, steps[index + 1]) if index + 1 < len(steps) else None,
    }


def _next(order, step):
    steps = webex_setup.steps_for(order)
    return redirect(step_url(order, steps[steps.index(step) + 1]))


# --- The steps ---------------------------------------------------------------------------------

def subscription_step(request, order, context):
    if request.method == "POST":
        webex_setup.mark_subscription_reviewed(order, by=request.user)
        return _next(order, SUBSCRIPTION)
    # A GET writes nothing: the subscription is created when the step is submitted.
    context["subscription"] = webex_setup.subscription_of(order)
    context["lines"] = list(order.lines.all())
    return render(request, "onboarding/webex_setup/subscription.html", context)


def calling_step(request, order, context):
    saved = webex_setup.related_or_none(order, "calling_settings")
    if saved is not None:
        initial = {"country": saved.country, "time_zone": saved.time_zone,
                   "location_name": saved.location_name, "main_number": saved.main_number}
    else:
        country = _customer_country(order)
        initial = {"country": country, "time_zone": countries.default_time_zone(country),
                   "location_name": order.customer_city or order.customer_name}
    form = CallingSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        webex_setup.save_calling_settings(order, by=request.user, **form.cleaned_data)
        return _next(order, CALLING)
    context["form"] = form
    return render(request, "onboarding/webex_setup/calling.html", context)


def _customer_country(order):
    """The customer organisation's country, else the one on the order."""
    return (order.customer_org.country if order.customer_org_id else "") or order.customer_country


def meetings_step(request, order, context):
    saved = webex_setup.related_or_none(order, "meeting_settings")
    if saved is not None:
        initial = {field: getattr(saved, field) for field in MeetingSettingsForm.base_fields}
    else:
        calling = webex_setup.related_or_none(order, "calling_settings")
        country = _customer_country(order)
        initial = {"language": order.language, "recording_allowed": True, "guests_allowed": True,
                   "join_before_host": False,
                   "time_zone": calling.time_zone if calling else countries.default_time_zone(country)}
    form = MeetingSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        webex_setup.save_meeting_settings(order, by=request.user, **form.cleaned_data)
        return _next(order, MEETINGS)
    context["form"] = form
    return render(request, "onboarding/webex_setup/meetings.html", context)


def enterprise_step(request, order, context):
    """Three buttons share the form: Check availability (answers here, keeps what was typed),
    a suggestion (fills it in and checks it), Save (reserves it and goes on)."""
    org = order.customer_org
    context["org"] = org
    if webex_setup.subdomain_locked(org, order):
        context["locked"] = True
        return render(request, "onboarding/webex_setup/enterprise.html", context)
    if request.method != "POST":
        context["form"] = SubdomainForm(initial={"subdomain": org.subdomain or ""}, org=org)
        return render(request, "onboarding/webex_setup/enterprise.html", context)

    data = request.POST.copy()
    if "pick" in data:
        data["subdomain"] = data["pick"]
    data["subdomain"] = subdomains.normalise(data.get("subdomain"))  # shown back as it is saved
    form = SubdomainForm(data, org=org)
    context["form"] = form
    if not form.is_valid():
        context["suggestions"] = form.suggestions()
        return render(request, "onboarding/webex_setup/enterprise.html", context)
    value = form.cleaned_data["subdomain"]
    if "save" not in data:  # Check availability, or a suggestion picked
        context["available"] = value
        return render(request, "onboarding/webex_setup/enterprise.html", context)
    try:
        webex_setup.reserve_subdomain(order, value, by=request.user)
    except ServiceSetupError as error:
        if error.code != ServiceSetupError.TAKEN:
            raise
        form.add_error("subdomain", subdomains.MESSAGES["just_taken"])
        form.wants_suggestions = True
        context["suggestions"] = form.suggestions()
        return render(request, "onboarding/webex_setup/enterprise.html", context, status=409)
    messages.success(request, _("%(subdomain)s.webex.com is reserved for %(org)s.")
                     % {"subdomain": value, "org": org.name})
    return _next(order, ENTERPRISE)


def deploy_step(request, order, context):
    """Deploy starts billing: an administrator of the order's organisation, who entered their
    password recently (or enters it here), recorded as the deployment's actor."""
    may_deploy = user_can_deploy(request.user, order)
    form = ReauthenticateForm(request, request.POST if request.method == "POST" else None) \
        if may_deploy and not authenticated_recently(request) else None
    if request.method == "POST":
        if not may_deploy:
            raise PermissionDenied
        if form is None or form.is_valid():
            if form is not None:
                mark_authenticated(request)
            webex_setup.deploy(order, by=request.user)
            return redirect(step_url(order, None))
    context.update(_summary(order))
    context["missing"] = [STEP_LABELS[key] for key in webex_setup.missing_before_deploy(order)]
    context["may_deploy"] = may_deploy
    context["password_form"] = form
    return render(request, "onboarding/webex_setup/deploy.html", context,
                  status=400 if form is not None and form.is_bound else 200)


STEP_VIEWS = {SUBSCRIPTION: subscription_step, CALLING: calling_step, MEETINGS: meetings_step,
              ENTERPRISE: enterprise_step, DEPLOY: deploy_step}


def _summary(order):
    """Everything configured, for the Deploy step and the deployed page."""
    calling = webex_setup.related_or_none(order, "calling_settings")
    meeting = webex_setup.related_or_none(order, "meeting_settings")
    subscription = webex_setup.subscription_of(order)
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "subscription": subscription,
        "billing": list(subscription.billing_periods.order_by("service")) if (
            subscription and order.provisioning.deployed_at) else [],
        "calling": calling,
        "calling_country": countries.country_name(calling.country) if calling else "",
        "meeting": meeting,
        "meeting_language": dict(meeting_language_choices()).get(meeting.language, meeting.language)
        if meeting else "",
        "subdomain": order.customer_org.subdomain if order.customer_org_id else "",
    }

