"""After Confirm (spec steps 9-10): "Your order has been set up successfully", the new
administrator's password, and where a link opened again after Confirm leads. Only the browser
that confirmed sees the done page (onboarding/access.py)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from onboarding import access, memberships, selectors, services
from onboarding.forms import AdminPasswordForm
from provisioning.models import Provisioning, SetupMode

DONE_KEY = "setup_done"           # session: {order number: {"set_up": bool}}


def service_setup_url(order):
    """Step 11: the service setup assistant, at the order's first step not done."""
    return reverse("onboarding:service_resume", kwargs={"number": order.number})


def mark_done(request, order, set_up):
    """This browser confirmed the order: it may see the done page (and, if its Confirm created
    an administrator, choose their password there). Returns that page's redirect."""
    access.set_for_order(request, DONE_KEY, order.number, {"set_up": set_up})
    return redirect("onboarding:setup_done", number=order.number)


def handed_over(request, order):
    """The link that handed the setup to the customer, used again. The browser that confirmed
    (a double click, another tab) gets its done page back; any other browser only learns that
    the setup was handed over."""
    provisioning = Provisioning.objects.get(pk=order.pk)
    if request.session.get(DONE_KEY, {}).get(order.number) or \
            provisioning.confirmed_in_browser == access.browser_id(request):
        return mark_done(request, order, set_up=False)
    return render(request, "onboarding/wizard/handed_over.html", {"order": order})


def resume(request, order):
    """A link used after Confirm. The browser that confirmed goes back to its done page; a
    signed-in member of the order's organisations to the service setup; anyone else is told the
    order is set up and asked to sign in: the link alone opens nothing after Confirm."""
    if request.session.get(DONE_KEY, {}).get(order.number):
        return redirect("onboarding:setup_done", number=order.number)
    if access.user_can_manage(request.user, order):
        return redirect(service_setup_url(order))
    return render(request, "onboarding/wizard/set_up_sign_in.html",
                  {"order": order, "next_url": service_setup_url(order)})


@require_http_methods(["GET", "HEAD", "POST"])
def setup_done(request, number):
    """"Your order has been set up successfully", and the new administrator's password. A plain
    form, not a wizard step: the raw password never enters the wizard's session storage. Only
    the browser that confirmed sees it. Without a password to choose, a signed-in member goes
    straight on into the service setup assistant ("L'Assistant d'installation du service se
    lance"), which shows the success."""
    marker = request.session.get(DONE_KEY, {}).get(number)
    if not marker:
        link = access.link_in_session(request, number)
        if link is not None and link.order.provisioning.set_up_at is not None:
            # This browser has the link but did not confirm: the order is set up, sign in.
            return render(request, "onboarding/wizard/set_up_sign_in.html",
                          {"order": link.order, "next_url": service_setup_url(link.order)},
                          status=403)
        return render(request, "onboarding/link/no_link.html", status=403)
    order = selectors.order_after_confirm(number)
    if order is None:
        raise Http404
    if order.provisioning.deployed_at is not None:
        return render(request, "onboarding/link/deployed.html",
                      {"order": order, "deployed_at": order.provisioning.deployed_at})
    set_up = marker.get("set_up")
    user = services.password_user_for(order, access.browser_id(request))
    form = None
    link_sent_to = None
    if user is not None and request.method == "POST" and request.POST.get("email_link"):
        memberships.email_password_link(user, order)
        link_sent_to = user.email
    elif user is not None:
        form = AdminPasswordForm(user, request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            services.set_admin_password(user, form.cleaned_data["new_password1"], order)
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[-1])
            response = mark_done(request, order, set_up)
            return redirect(service_setup_url(order)) if set_up else response
    invited = memberships.pending_invitation_email(order) if set_up else None
    if set_up and user is None and access.user_can_manage(request.user, order):
        messages.success(request, _("Your order has been set up successfully"))
        if invited:
            messages.info(request, _("We emailed an invitation to %(email)s: they administer "
                                     "%(org)s once they accept it.")
                          % {"email": invited, "org": order.customer_org.name})
        return redirect(service_setup_url(order))
    handed_to = None
    if not set_up:
        live = selectors.live_link(order)
        handed_to = live.recipient_email if live else ""
    return render(request, "onboarding/wizard/done.html", {
        "order": order, "form": form, "password_user": user, "set_up": set_up,
        "handed_to": handed_to, "link_sent_to": link_sent_to,
        "invited": invited,
        "customer_led": order.provisioning.setup_mode == SetupMode.CUSTOMER,
    })
