"""The order setup wizard (spec steps 4-9): role, installer, partner organisation, customer
administrator, customer organisation, Confirm. A formtools SessionWizardView used through its
public API; views are thin: every state change is in onboarding/services.py and
provisioning/lifecycle.py."""
from functools import cached_property

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from formtools.wizard.views import SessionWizardView

from onboarding import access, memberships, selectors, services
from onboarding.done_views import handed_over, mark_done, resume
from onboarding.forms import (ConfirmForm, CustomerAdminForm, CustomerOrgForm, Installer,
                              InstallerForm, OrgStepForm, PartnerOrgForm, Role, RoleForm)
from onboarding.link_views import problem_response, wizard_prefix
from onboarding.verification import EmailProof
from provisioning import lifecycle
from provisioning.links import LinkProblem, link_problem
from provisioning.models import Provisioning, SetupLink, SetupMode

STEP_NAMES = {
    "role": _("Role"),
    "installer": _("Installer"),
    "partner_org": _("Partner organisation"),
    "customer_admin": _("Customer administrator"),
    "customer_org": _("Customer organisation"),
    "confirm": _("Confirm"),
}
ALL_STEPS = list(STEP_NAMES)


def _cleaned(wizard, step, key):
    return (wizard.get_cleaned_data_for_step(step) or {}).get(key)


def _role(wizard):
    if wizard.customer_admin_link:
        return Role.CUSTOMER
    return _cleaned(wizard, "role", "role")


def _installer(wizard):
    return _cleaned(wizard, "installer", "choice") if _role(wizard) == Role.PARTNER else None


def show_role(wizard):
    return not wizard.customer_admin_link


def show_installer(wizard):
    return _role(wizard) == Role.PARTNER


def show_partner_org(wizard):
    return _installer(wizard) in (Installer.SELF, Installer.CUSTOMER)


def show_customer_admin(wizard):
    if wizard.customer_admin_link:
        return False  # the partner gave us this address: it is the link's recipient
    return _role(wizard) == Role.CUSTOMER or _installer(wizard) in (Installer.SELF, Installer.CUSTOMER)


def show_customer_org(wizard):
    return _role(wizard) == Role.CUSTOMER or _installer(wizard) == Installer.SELF


def show_confirm(wizard):
    return _role(wizard) == Role.CUSTOMER or _installer(wizard) in (Installer.SELF, Installer.CUSTOMER)


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
        user = self.request.user
        if user.is_authenticated and self.partner_org is not None and \
                access.is_member_of(user, self.partner_org):
            return user
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
        return _role(self) == Role.CUSTOMER or _installer(self) == Installer.CUSTOMER

    def installer_email(self):
        if _role(self) != Role.PARTNER:
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

    def get_form(self, step=None, data=None, files=None):
        self._binding = data is not None
        return super().get_form(step, data, files)

    def get_cleaned_data_for_step(self, step):
        # A step with no stored answers has nothing to check. formtools keeps only valid answers
        # for the request, so it would build and check that step's empty form again at every
        # condition and progress line that asks (ten forms for the first page).
        if self.storage.get_step_data(step) is None:
            return None
        return super().get_cleaned_data_for_step(step)

    def get_form_kwargs(self, step=None):
        if step == "installer":
            member = self.signed_in_member
            # Only the answers' check reads the partner org: an empty form needs no look-up.
            return {"partner_org": self.partner_org if getattr(self, "_binding", True) else None,
                    "proof": self.proof,
                    "member_email": member.email if member is not None else None}
        if step == "partner_org":
            return {"existing": self.partner_org, "member": self.signed_in_member is not None}
        if step == "customer_admin":
            return {"order": self.order, "partner_org": self.partner_org,
                    "customer_org": self.customer_org_by_id,
                    "installer_email": self.installer_email(),
                    "customer_led": self.customer_leads(),
                    "proof": self.proof if _role(self) == Role.CUSTOMER else None,
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
            # Next checks it, and Confirm checks every step again. The answers just stored may
            # change which steps there are, so the step is shown by a fresh request (GET).
            form = self.get_form(posted_step, data=self.request.POST)
            self.storage.set_step_data(posted_step, self.process_step(form))
            self.storage.current_step = goto
            return redirect(self.request.path)

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
        """Confirm. As formtools does, every step's stored answers are checked again first; then
        the setup is done, and the stored answers are cleared only when it went through: a rule
        checked under the order's lock (SetupConflict) sends the user back to a step with them."""
        form_dict = {}
        for step in self.get_form_list():
            step_form = self.get_form(step, data=self.storage.get_step_data(step),
                                      files=self.storage.get_step_files(step))
            if not step_form.is_valid():
                return self.render_revalidation_failure(step, step_form, **kwargs)
            form_dict[step] = step_form
        try:
            response = self.finish(form_dict)
        except services.SetupConflict as conflict:
            return self._back_to(conflict)
        self.storage.reset()
        return response

    def done(self, form_list, form_dict=None, **kwargs):
        # formtools' abstract hook; render_done above calls finish itself.
        return self.finish(form_dict)

    def finish(self, form_dict):
        """The wizard's end: hand to a colleague, or Confirm (complete_setup)."""
        installer = form_dict.get("installer")
        try:
            if installer is not None and installer.cleaned_data["choice"] == Installer.COLLEAGUE:
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
            self.order.provisioning.refresh_from_db()
            return problem_response(self.request, self.link,
                                    link_problem(self.link) or LinkProblem.SUPERSEDED)
        return mark_done(self.request, self.order, result.set_up)

    def _back_to(self, conflict):
        """Back to the step whose answer a rule checked at Confirm refused, saying why."""
        # What the steps knew may have changed meanwhile (an organisation someone created).
        for name in ("partner_org", "customer_org_by_id"):
            self.__dict__.pop(name, None)
        if conflict.step not in self.get_form_list():
            return render(self.request, "onboarding/wizard/cannot_continue.html",
                          {"order": self.order, "message": conflict.message}, status=409)
        self.storage.current_step = conflict.step
        step_form = self.get_form(conflict.step, data=self.storage.get_step_data(conflict.step))
        step_form.is_valid()
        field = conflict.field if conflict.field in step_form.fields else None
        if conflict.message not in step_form.errors.get(field or "__all__", []):
            step_form.add_error(field, conflict.message)
        return self.render(step_form)

    def plan(self, form_dict):
        role = _role(self)
        customer_org_form = form_dict.get("customer_org")
        customer = {}
        if customer_org_form is not None:
            if customer_org_form.existing is not None:
                customer["customer_org_id"] = customer_org_form.existing.pk
            else:
                customer["new_customer_org"] = customer_org_form.details()
        if role == Role.CUSTOMER:
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
            hand_to_customer=installer["choice"] == Installer.CUSTOMER, **partner, **customer)

    # -- Pages ------------------------------------------------------------------------------------

    def progress(self):
        steps = list(self.get_form_list())
        if not self.customer_admin_link and (_role(self) is None or
                                             (_role(self) == Role.PARTNER and _installer(self) is None)):
            steps = ALL_STEPS  # nothing chosen yet: show the usual path
        current = self.steps.current
        index = steps.index(current) if current in steps else 0
        return [{"key": key, "name": STEP_NAMES[key],
                 "state": "done" if i < index else "current" if i == index else "todo"}
                for i, key in enumerate(steps)]

    def summary(self):
        """Both sides of the confirm page, from the answers (nothing is saved yet)."""
        partner = None
        if _role(self) == Role.PARTNER:
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
                         "hand_over": _installer(self) == Installer.CUSTOMER,
                         "managed": _role(self) == Role.PARTNER},
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
            context["own_address"] = _role(self) == Role.CUSTOMER
            org = context["managed_elsewhere"] = self.customer_org_elsewhere
            if org is not None and self.request.method == "POST":
                # The step was just reached (a POST): the rep hears of it without a click.
                services.report_managed_elsewhere(self.link, org)
                context["rep_told"] = True
        if step == "confirm":
            context["summary"] = self.summary()
        return context
