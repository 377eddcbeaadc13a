"""The Set up now link (spec step 3): /setup/<token>/ checks it, remembers it in this browser's
session and sends the browser to its order's wizard; links that cannot open it get their own
page. A GET changes no data: mail scanners fetch links."""
from django.conf import settings
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.ratelimits import is_limited
from onboarding import access, selectors
from onboarding.done_views import DONE_KEY
from provisioning.links import LinkProblem, check_link
from provisioning.models import SetupLink


def wizard_prefix(order):
    """Wizard storage is keyed per order: two tabs on two orders never share a wizard."""
    return f"setup_{order.pk}"


def _too_many_bad_tokens(request):
    """Unknown tokens from one client address (settings.RATE_LIMITS["setup-bad-token"]): a
    guesser is slowed down, a valid link from the same address still opens."""
    return is_limited(request, "setup-bad-token")


def problem_response(request, link, problem):
    """The page of a link that cannot open the wizard: what happened and what to do. It names
    nothing but this order's own number, dates and a masked address."""
    order = link.order
    if problem == LinkProblem.SUPERSEDED:
        newer = selectors.live_link(order)
        return render(request, "onboarding/link/superseded.html", {
            "order": order, "newer_to": selectors.mask_email(newer.recipient_email) if newer else "",
            "newer_purpose": newer.purpose if newer else "", "purposes": SetupLink.Purpose,
        }, status=410)
    if problem == LinkProblem.EXPIRED:
        return render(request, "onboarding/link/expired.html", {
            "order": order, "closed_on": order.provisioning.window_closes_at,
            "rep_email": order.account_rep.email}, status=410)
    if problem == LinkProblem.DEPLOYED:
        return render(request, "onboarding/link/deployed.html", {
            "order": order, "deployed_at": order.provisioning.deployed_at})
    return render(request, "onboarding/link/unknown.html", status=404)


@require_http_methods(["GET", "HEAD"])
def entry(request, token):
    """GET /setup/<token>/: mail scanners fetch this, so it changes no data, only this browser's
    session: the link is remembered and the token leaves the address bar."""
    check = check_link(token)
    if check.problem == LinkProblem.UNKNOWN:
        if _too_many_bad_tokens(request):
            return render(request, "onboarding/link/throttled.html", status=429)
        return render(request, "onboarding/link/unknown.html", status=404)
    if not check.ok:
        return problem_response(request, check.link, check.problem)
    order = check.link.order
    access.remember_link(request, check.link)
    if order.provisioning.set_up_at is None:
        # Opening the link starts the wizard again from the first step.
        request.session.pop(f"wizard_{wizard_prefix(order)}", None)
        access.set_for_order(request, DONE_KEY, order.number, None)
    response = redirect("onboarding:setup", number=order.number)
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        # The page speaks the language the email was written in, until the user picks another.
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, order.language,
                            samesite="Lax", httponly=True)
    return response



@require_http_methods(["GET", "HEAD"])
def last_setup(request):
    """/setup/: the wizard of the order whose link this browser opened last."""
    number = access.last_opened(request)
    if number is None:
        return render(request, "onboarding/link/no_link.html", status=403)
    return redirect("onboarding:setup", number=number)
