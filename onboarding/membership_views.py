"""Answering a request to join (from the administrator's email, or their requests page) and
accepting an invitation to administer a customer organisation. A GET never decides anything:
mail scanners fetch links, so every answer is a POST from the page the link opens."""
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from onboarding import memberships
from onboarding.forms import AdminPasswordForm
from orgs import services as orgs_services
from orgs.models import JoinRequest, User


@require_http_methods(["GET", "HEAD", "POST"])
def join_decision(request, token):
    """The approve/decline link of one administrator's email."""
    join_request, admin = memberships.find_join_request(token)
    if join_request is None:
        return render(request, "onboarding/memberships/unknown.html", status=404)
    if request.method == "POST" and join_request.status == JoinRequest.Status.PENDING:
        approve = request.POST.get("decision") == "approve"
        try:
            join_request = memberships.decide_join(join_request, approve, by=admin)
        except memberships.AlreadyAnswered:
            join_request.refresh_from_db()
    return render(request, "onboarding/memberships/join_decision.html",
                  {"join_request": join_request, "org": join_request.organization})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def join_requests(request):
    """The signed-in administrator's page: requests to join their organisation."""
    pending = memberships.pending_requests_for(request.user)
    if request.method == "POST":
        join_request = pending.filter(pk=request.POST.get("request") or 0).first()
        if join_request is None:
            raise Http404
        try:
            memberships.decide_join(join_request, request.POST.get("decision") == "approve",
                                    by=request.user)
        except memberships.AlreadyAnswered:
            pass
        return redirect("onboarding:join_requests")
    membership = getattr(request.user, "membership", None)
    return render(request, "onboarding/memberships/join_requests.html", {
        "requests": list(pending), "is_admin": bool(membership) and membership.role == "admin",
        "org": membership.organization if membership else None})


@require_http_methods(["GET", "HEAD", "POST"])
def invitation(request, token):
    """The invited customer administrator accepts, choosing a password if they have none; the
    membership exists from then on, and they are signed in."""
    invitation = memberships.find_invitation(token)
    problem = memberships.invitation_problem(invitation)
    if problem:
        return render(request, "onboarding/memberships/invitation_problem.html",
                      {"problem": problem, "invitation": invitation},
                      status=404 if problem == "unknown" else 410)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    needs_password = existing is None or not existing.has_usable_password()
    signed_in_as_invitee = (request.user.is_authenticated and existing is not None
                            and request.user.pk == existing.pk)
    form = None
    if needs_password:
        # The validators compare the password with the address: an unsaved user carries it.
        form = AdminPasswordForm(existing or User(email=invitation.email),
                                 request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and (form is None and signed_in_as_invitee or
                                     form is not None and form.is_valid()):
        try:
            user = memberships.accept_invitation(
                invitation, form.cleaned_data["new_password1"] if form is not None else None)
        except memberships.AlreadyAnswered:
            return redirect("onboarding:my_orders")
        except orgs_services.OrgConflict:
            error = "other_org"
        else:
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[-1])
            return redirect("onboarding:my_orders")
    return render(request, "onboarding/memberships/invitation.html", {
        "invitation": invitation, "org": invitation.organization, "form": form,
        "needs_sign_in": not needs_password and not signed_in_as_invitee, "error": error})
