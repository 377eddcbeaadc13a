"""The order setup wizard (spec steps 3-10): the Set up now link, the wizard, its exits and the
password page. Views are thin: every state change is in onboarding/services.py."""
from functools import cached_property

from django.conf import settings
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from formtools.wizard.views import SessionWizardView

from config.ratelimits import is_limited
from onboarding import access, memberships, selectors, services
from onboarding.forms import (COLLEAGUE, CUSTOMER, CUSTOMER_DOES_IT, PARTNER, SELF,
                              AdminPasswordForm, ConfirmForm, CustomerAdminForm, CustomerOrgForm,
                              InstallerForm, OrgStepForm, PartnerOrgForm, RoleForm)
from onboarding.verification import EmailProof
from orders.models import Order
from provisioning.models import Provisioning, SetupLink, SetupMode
from provisioning import lifecycle
from provisioning.links import LinkProblem, check_link, link_problem

DONE_KEY = "setup_done"           # session: {order number: {"user": pk or None, "set_up": bool}}

STEP_NAMES = {
    "role": _("Role"),
    "installer": _("Installer"),
    "partner_org": _("Partner organisation"),
    "customer_admin": _("Customer administrator"),
    "customer_org": _("Customer organisation"),
    "confirm": _("Confirm"),
}
ALL_STEPS = list(STEP_NAMES)


def wizard_prefix(order):
    """Wizard storage is keyed per order: two tabs on two orders never share a wizard."""
    return f"setup_{order.pk}"


# --- The link ------------------------------------------------------------------------------------

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


# --- The wizard ----------------------------------------------------------------------------------

def _cleaned(wizard, step, key):
    return (wizard.get_cleaned_data_for_step(step) or {}).get(key)


def _role(wizard):
    if wizard.customer_admin_link:
        return CUSTOMER
    return _cleaned(wizard, "role", "role")


def _installer(wizard):
    return _cleaned(wizard, "installer", "choice") if _role(wizard) == PARTNER else None


def show_role(wizard):
    return not wizard.customer_admin_link


def show_installer(wizard):
    return _role(wizard) == PARTNER


def show_partner_org(wizard):
    return _installer(wizard) in (SELF, CUSTOMER_DOES_IT)


def show_customer_admin(wizard):
    if wizard.customer_admin_link:
        return False  # the partner gave us this address: it is the link's recipient
    return _role(wizard) == CUSTOMER or _installer(wizard) in (SELF, CUSTOMER_DOES_IT)


def show_customer_org(wizard):
    return _role(wizard) == CUSTOMER or _installer(wizard) == SELF


def show_confirm(wizard):
    return _role(wizard) == CUSTOMER or _installer(wizard) in (SELF, CUSTOMER_DOES_IT)


class _BackToStep(Exception):
    def __init__(self, conflict):
        super().__init__(conflict.message)
        self.conflict = conflict


class SetupWizard(SessionWizardView):
    """Role → installer → partner org → customer admin → customer org → confirm. Nothing is
    saved before Confirm except the "setup begun" mark on the first POST."""

    # Saves the session only when the answers changed, not on every GET (bench/bench_wizard.py).
    storage_name = "onboarding.wizard_storage.ChangedOnlySessionStorage"
    form_list = [("role", RoleForm), ("installer", InstallerForm), ("partner_org", PartnerOrgForm),
                 ("customer_admin", CustomerAdminForm), ("customer_org", CustomerOrgForm),
                 ("confirm", ConfirmForm)]
    condition_dict = {"role": show_role, "installer": show_installer,
                      "partner_org": show_partner_org, "customer_admin": show_customer_admin,
                      "customer_org": show_customer_org, "confirm": show_confirm}

    def dispatch(self, request, *args, **kwargs):
        link = access.link_in_session(request, kwargs["number"])
        if link is None:
            return render(request, "onboarding/link/no_link.html", status=403)
        problem = link_problem(link)
        if problem == LinkProblem.SUPERSEDED:
            if services.handed_over_by(link):
                return handed_over(request, link.order)
        if problem:
            return problem_response(request, link, problem)
        self.link, self.order = link, link.order
        self.provisioning = self.order.provisioning
        if self.provisioning.set_up_at is not None:
            return resume(request, self.order)
        self.notice = None
        self.proof = EmailProof(request, self.order, link)
        if self.customer_admin_link and self._link_admin_check[0]:
            # Say it now, not after the customer has filled in every step.
            return render(request, "onboarding/wizard/cannot_continue.html",
                          {"order": self.order, "message": self._link_admin_check[0]}, status=409)
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        return wizard_prefix(self.order)

    def get_template_names(self):
        return [f"onboarding/wizard/{self.steps.current}.html"]

    # -- What the steps know ----------------------------------------------------------------------

    @property
    def customer_admin_link(self):
        return self.link.purpose == SetupLink.Purpose.CUSTOMER_ADMIN

    @cached_property
    def partner_org(self):
        """The partner org the steps work with: the order's own after a hand-over to the
        customer, else the one with the order's partner id (None on a first order)."""
        if self.order.partner_org_id:
            return self.order.partner_org
        return selectors.partner_org_for(self.order)

    @cached_property
    def customer_org_by_id(self):
        return selectors.customer_org_for(self.order)

    @property
    def signed_in_member(self):
        """The signed-in user, when a member of the order's existing partner organisation."""
        if self.partner_org is not None and access.is_member_of(self.request.user,
                                                                self.partner_org):
            return self.request.user
        return None

    @property
    def customer_org_elsewhere(self):
        """The order's customer organisation, when another partner (or the customer) manages it:
        this setup may not use it."""
        org = self.customer_org_by_id
        if services.customer_org_managed_elsewhere(org, self.partner_org,
                                                   customer_led=self.customer_leads()):
            return org
        return None

    def customer_leads(self):
        """The customer sets up their organisation: they chose "I am the customer", or the
        partner hands the setup to them."""
        return _role(self) == CUSTOMER or _installer(self) == CUSTOMER_DOES_IT

    def installer_email(self):
        if _role(self) != PARTNER:
            return None
        member = self.signed_in_member
        return member.email if member is not None else _cleaned(self, "installer", "email")

    def customer_admin_email(self):
        if self.customer_admin_link:
            return self.link.recipient_email
        return _cleaned(self, "customer_admin", "email")

    def customer_org_to_verify(self):
        if self.customer_org_by_id is not None:
            return self.customer_org_by_id
        if self.customer_admin_link:
            return self._link_admin_org
        return _cleaned(self, "customer_admin", "selected_org")

    @cached_property
    def _link_admin_check(self):
        """(problem, selected org) of the customer administrator a CUSTOMER_ADMIN link names."""
        return services.customer_admin_problem(
            self.link.recipient_email, self.order, self.partner_org, self.customer_org_by_id)

    @property
    def _link_admin_org(self):
        return self._link_admin_check[1]

    def get_form_kwargs(self, step=None):
        if step == "installer":
            member = self.signed_in_member
            return {"partner_org": self.partner_org, "proof": self.proof,
                    "member_email": member.email if member is not None else None}
        if step == "partner_org":
            return {"existing": self.partner_org, "member": self.signed_in_member is not None}
        if step == "customer_admin":
            return {"order": self.order, "partner_org": self.partner_org,
                    "customer_org": self.customer_org_by_id,
                    "installer_email": self.installer_email(),
                    "customer_led": self.customer_leads(),
                    "proof": self.proof if _role(self) == CUSTOMER else None,
                    "managed_elsewhere": self.customer_org_elsewhere is not None}
        if step == "customer_org":
            return {"existing": self.customer_org_to_verify()}
        return {}

    def get_form_initial(self, step):
        order = self.order
        if step == "installer":
            member = self.signed_in_member
            return {"email": member.email if member is not None else self.link.recipient_email}
        if step == "partner_org":
            return {"name": order.partner_name, "country": order.partner_country}
        if step == "customer_org":
            return {"name": order.customer_name, "country": order.customer_country,
                    "address": order.customer_address, "city": order.customer_city,
                    "postal_code": order.customer_postal_code}
        return {}

    def process_step(self, form):
        data = form.data.copy()
        data.pop("csrfmiddlewaretoken", None)
        # A code is spent once it proved its address: the session keeps the proof, not the code.
        data.pop(form.add_prefix("code"), None)
        if isinstance(form, OrgStepForm):
            data[form.add_prefix("marker")] = form.marker  # what the user saw: create or verify
        return data

    # -- Requests ---------------------------------------------------------------------------------

    def _forget_caches(self):
        for name in list(self.__dict__):
            if name.startswith("_cleaned_data_cache_") or name in ("_resolved_form_list",
                                                                   "_cache_signature"):
                delattr(self, name)

    def get(self, request, *args, **kwargs):
        """Shows the current step again (a reload or a language switch keeps the answers);
        opening the emailed link is what starts over."""
        step = self.storage.current_step
        if step not in self.get_form_list():
            self.storage.current_step = step = self.steps.first
        return self.render(self.get_form(step, data=self.storage.get_step_data(step)))

    def post(self, *args, **kwargs):
        if self.provisioning.setup_begun_at is None:
            lifecycle.begin_setup(self.order)
        if f"{self.prefix}-current_step" not in self.request.POST:
            # Not a page of this order's wizard (formtools would answer a bare 400).
            self.notice = _("Nothing was saved from the page you sent: please check this step.")
            response = self.get(self.request)
            response.status_code = 400
            return response
        posted_step = self.request.POST.get(f"{self.prefix}-current_step")
        form_list = self.get_form_list()
        if posted_step not in form_list:
            if self._set_up_meanwhile():
                return self._already_set_up()
            # A tab left open on a step the answers elsewhere have since removed.
            self.storage.current_step = self.steps.first
            self.notice = _("Your answers changed in another window: please check this step.")
            return self.render(self.get_form(self.steps.first,
                                             data=self.storage.get_step_data(self.steps.first)))
        self.storage.current_step = posted_step

        goto = self.request.POST.get("wizard_goto_step")
        # Only Next on the step that asks for an address may email it a code.
        self.proof.may_send = goto is None and posted_step in ("installer", "customer_admin")
        if goto in form_list:
            # Back keeps what was typed on this page, complete or not, without checking it:
            # Next checks it, and Confirm checks every step again.
            form = self.get_form(posted_step, data=self.request.POST)
            self.storage.set_step_data(posted_step, self.process_step(form))
            self._forget_caches()
            if goto in self.get_form_list():
                return self.render_goto_step(goto)

        if self.request.POST.get("ask_to_join") and posted_step == "partner_org":
            return self._ask_to_join()
        if self.request.POST.get("tell_rep") and posted_step == "customer_admin":
            org = self.customer_org_elsewhere
            if org is not None:
                services.report_managed_elsewhere(self.link, org)
                self.storage.reset()
                return render(self.request, "onboarding/wizard/managed_elsewhere_told.html",
                              {"order": self.order, "org": org,
                               "rep_email": self.order.account_rep.email})
        if self.request.POST.get("not_recognised") and posted_step in ("partner_org",
                                                                         "customer_org"):
            form = self.get_form(posted_step)
            if form.existing is not None:
                services.report_not_recognised(self.link, form.existing)
                self.storage.reset()
                return render(self.request, "onboarding/wizard/not_recognised.html",
                              {"order": self.order, "org": form.existing,
                               "rep_email": self.order.account_rep.email})
        return super().post(*args, **kwargs)

    def _ask_to_join(self):
        """A non-member asks the existing partner organisation's administrators to let them in,
        from the address the installer step proved. The order waits for their answer."""
        installer = self.get_cleaned_data_for_step("installer") or {}
        org = self.partner_org
        if org is None or not installer.get("email") or self.signed_in_member is not None:
            return self.render(self.get_form("partner_org"))
        join_request, _created = memberships.request_to_join(
            self.order, org, installer["email"], installer.get("name", ""), self.link)
        self.storage.reset()
        return render(self.request, "onboarding/wizard/join_requested.html",
                      {"order": self.order, "org": org, "join_request": join_request})

    def render_next_step(self, form, **kwargs):
        # The step just answered fell out of the path: an earlier answer stopped being valid
        # (e.g. the installer's email now belongs to the org someone else just created).
        if self.steps.current not in self.get_form_list() and self._set_up_meanwhile():
            return self._already_set_up()
        return super().render_next_step(form, **kwargs)

    def render_revalidation_failure(self, step, form, **kwargs):
        # An answer stopped being valid since it was given. If that is because someone else
        # has just set the order up (their new orgs and users), say that rather than the step.
        if self._set_up_meanwhile():
            return self._already_set_up()
        return super().render_revalidation_failure(step, form, **kwargs)

    def _set_up_meanwhile(self):
        return (Provisioning.objects.filter(pk=self.order.pk, set_up_at__isnull=False).exists()
                or services.handed_over_by(self.link))

    def _already_set_up(self):
        if services.handed_over_by(self.link):  # this link's own hand-over, another click or tab
            return handed_over(self.request, self.order)
        return render(self.request, "onboarding/wizard/already_set_up.html",
                      {"order": self.order}, status=409)

    def render_done(self, form, **kwargs):
        try:
            return super().render_done(form, **kwargs)
        except _BackToStep as back:
            conflict = back.conflict
            # What the steps knew may have changed meanwhile (an organisation someone created).
            for name in ("partner_org", "customer_org_by_id"):
                self.__dict__.pop(name, None)
            if conflict.step not in self.get_form_list():
                return render(self.request, "onboarding/wizard/cannot_continue.html",
                              {"order": self.order, "message": conflict.message}, status=409)
            self.storage.current_step = conflict.step
            step_form = self.get_form(conflict.step,
                                      data=self.storage.get_step_data(conflict.step))
            step_form.is_valid()
            field = conflict.field if conflict.field in step_form.fields else None
            if conflict.message not in step_form.errors.get(field or "__all__", []):
                step_form.add_error(field, conflict.message)
            return self.render(step_form)

    def done(self, form_list, form_dict=None, **kwargs):
        installer = form_dict.get("installer")
        try:
            if installer is not None and installer.cleaned_data["choice"] == COLLEAGUE:
                email = services.hand_to_colleague(self.link, installer.cleaned_data["colleague_email"])
                return render(self.request, "onboarding/wizard/colleague_asked.html",
                              {"order": self.order, "email": email})
            result = services.complete_setup(self.link, self.plan(form_dict),
                                             browser=access.browser_id(self.request))
        except services.AlreadySetUp:
            return self._already_set_up()
        except services.LinkNoLongerValid:
            if services.handed_over_by(self.link):  # this link's own hand-over won the race
                return handed_over(self.request, self.order)
            self.link.refresh_from_db()
            return problem_response(self.request, self.link, LinkProblem.SUPERSEDED)
        except services.SetupConflict as conflict:
            raise _BackToStep(conflict) from None
        return mark_done(self.request, self.order, result.set_up)

    def plan(self, form_dict):
        role = _role(self)
        customer_org_form = form_dict.get("customer_org")
        customer = {}
        if customer_org_form is not None:
            if customer_org_form.existing is not None:
                customer["customer_org_id"] = customer_org_form.existing.pk
            else:
                customer["new_customer_org"] = customer_org_form.details()
        if role == CUSTOMER:
            admin_email = self.customer_admin_email()
            return services.SetupPlan(mode=SetupMode.CUSTOMER, installer_name="",
                                      installer_email=admin_email, customer_admin_email=admin_email,
                                      partner_led=False, **customer)
        installer = form_dict["installer"].cleaned_data
        partner_form = form_dict["partner_org"]
        member = self.signed_in_member
        partner = ({"partner_org_id": partner_form.existing.pk,
                    "member_id": member.pk if member is not None else None}
                   if partner_form.existing else {"new_partner_org": partner_form.details()})
        mode = SetupMode.COLLEAGUE if self.link.purpose == SetupLink.Purpose.COLLEAGUE \
            else SetupMode.SELF
        return services.SetupPlan(
            mode=mode, installer_name=installer["name"], installer_email=self.installer_email(),
            customer_admin_email=form_dict["customer_admin"].cleaned_data["email"],
            hand_to_customer=installer["choice"] == CUSTOMER_DOES_IT, **partner, **customer)

    # -- Pages ------------------------------------------------------------------------------------

    def progress(self):
        steps = list(self.get_form_list())
        if not self.customer_admin_link and (_role(self) is None or
                                             (_role(self) == PARTNER and _installer(self) is None)):
            steps = ALL_STEPS  # nothing chosen yet: show the usual path
        current = self.steps.current
        index = steps.index(current) if current in steps else 0
        return [{"key": key, "name": STEP_NAMES[key],
                 "state": "done" if i < index else "current" if i == index else "todo"}
                for i, key in enumerate(steps)]

    def summary(self):
        """Both sides of the confirm page, from the answers (nothing is saved yet)."""
        partner = None
        if _role(self) == PARTNER:
            installer = self.get_cleaned_data_for_step("installer") or {}
            org_data = self.get_cleaned_data_for_step("partner_org") or {}
            partner = {"org": self.partner_org,
                       "new": org_data if self.partner_org is None else None,
                       "installer_name": installer.get("name"),
                       "installer_email": self.installer_email()}
        elif self.partner_org is not None:
            partner = {"org": self.partner_org, "new": None, "customer_led": True}
        customer_org = self.customer_org_to_verify()
        new_customer = {}
        if "customer_org" in self.get_form_list():
            new_customer = self.get_cleaned_data_for_step("customer_org") or {}
        return {
            "partner": partner,
            "customer": {"org": customer_org, "new": new_customer if customer_org is None else None,
                         "admin_email": self.customer_admin_email(),
                         "hand_over": _installer(self) == CUSTOMER_DOES_IT,
                         "managed": _role(self) == PARTNER},
        }

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        step = self.steps.current
        context.update(order=self.order, link=self.link, step_name=STEP_NAMES[step],
                       progress=self.progress(), notice=self.notice,
                       customer_admin_link=self.customer_admin_link,
                       is_last=step == self.steps.last)
        if step == "partner_org" and self.partner_org is not None:
            installer = self.get_cleaned_data_for_step("installer") or {}
            context.update(member=self.signed_in_member is not None,
                           join_as=installer.get("email", ""),
                           login_url=f"{reverse('login')}?next={self.request.path}")
        if step == "customer_admin":
            context["own_address"] = _role(self) == CUSTOMER
            org = context["managed_elsewhere"] = self.customer_org_elsewhere
            if org is not None and self.request.method == "POST":
                # The step was just reached (a POST): the rep hears of it without a click.
                services.report_managed_elsewhere(self.link, org)
                context["rep_told"] = True
        if step == "confirm":
            context["summary"] = self.summary()
        return context


# --- After Confirm: the success page and the password (step 10) ---------------------------------

@require_http_methods(["GET", "HEAD", "POST"])
def setup_done(request, number):
    """"Your order has been set up successfully", and the new administrator's password. A plain
    form, not a wizard step: the raw password never enters the wizard's session storage. Only
    the browser that confirmed sees it. Without a password to choose, a signed-in member goes
    straight on into the service setup assistant ("L'Assistant d'installation du service se
    lance"), which shows the success."""
    from django.contrib import messages

    marker = request.session.get(DONE_KEY, {}).get(number)
    if not marker:
        link = access.link_in_session(request, number)
        if link is not None and link.order.provisioning.set_up_at is not None:
            # This browser has the link but did not confirm: the order is set up, sign in.
            return render(request, "onboarding/wizard/set_up_sign_in.html",
                          {"order": link.order, "next_url": service_setup_url(link.order)},
                          status=403)
        return render(request, "onboarding/link/no_link.html", status=403)
    order = (Order.objects.select_related("provisioning", "partner_org", "customer_org")
             .get(number=number))
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


@require_http_methods(["GET", "HEAD"])
def last_setup(request):
    """/setup/: the wizard of the order whose link this browser opened last."""
    number = access.last_opened(request)
    if number is None:
        return render(request, "onboarding/link/no_link.html", status=403)
    return redirect("onboarding:setup", number=number)
