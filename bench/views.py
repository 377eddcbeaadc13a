"""Bench-only baselines, mounted at /bench/ only when BENCH_VIEWS=1 (config/urls.py).

The textbook floor (/bench/textbook/): a FormView as Django's tutorial writes one, one small form,
its own small template, served through Django's stock middleware list (bench/wsgi.py). A GET
reads the session (the last answer, as initial value); a valid POST keeps the answer in the
session and shows the form again, one page per request as the wizard's POST is.

The bare view (/bench/role/) isolates formtools: a bare
Django FormView with the wizard's first form (RoleForm), the same template, the same session
engine and the same access check (the setup link remembered in the session). On a valid POST it
keeps the answer in the session and renders the next step's template, as the wizard does."""
from django import forms
from django.core.exceptions import PermissionDenied
from django.forms.renderers import DjangoTemplates
from django.shortcuts import render
from django.views.generic import FormView
from formtools.wizard.forms import ManagementForm

from onboarding import access
from onboarding.forms import InstallerForm, RoleForm
from onboarding.link_views import wizard_prefix
from onboarding.wizard import ALL_STEPS, STEP_NAMES


def _progress(current):
    index = ALL_STEPS.index(current)
    return [{"key": key, "name": STEP_NAMES[key],
             "state": "done" if i < index else "current" if i == index else "todo"}
            for i, key in enumerate(ALL_STEPS)]


class BareRoleView(FormView):
    form_class = RoleForm
    prefix = "role"
    template_name = "onboarding/wizard/role.html"

    def dispatch(self, request, *args, **kwargs):
        self.link = access.link_in_session(request, access.last_opened(request))
        if self.link is None:
            raise PermissionDenied
        self.order = self.link.order
        return super().dispatch(request, *args, **kwargs)

    def _context(self, step, form):
        prefix = wizard_prefix(self.order)
        management = ManagementForm(prefix=prefix, initial={"current_step": step})
        return {"wizard": {"form": form, "management_form": management,
                           "steps": {"current": step, "prev": "role" if step != "role" else None}},
                "form": form, "order": self.order, "link": self.link,
                "step_name": STEP_NAMES[step], "progress": _progress(step), "notice": None,
                "customer_admin_link": False, "is_last": False}

    def get_context_data(self, **kwargs):
        return self._context("role", kwargs.get("form") or self.get_form())

    def form_valid(self, form):
        self.request.session["bench_bare_role"] = form.cleaned_data
        next_form = InstallerForm(prefix="installer", initial={"email": self.link.recipient_email})
        return render(self.request, "onboarding/wizard/installer.html",
                      self._context("installer", next_form))


class TextbookForm(forms.Form):
    default_renderer = DjangoTemplates()  # Django's default, whatever settings.FORM_RENDERER says
    name = forms.CharField(max_length=100)
    email = forms.EmailField()


class TextbookView(FormView):
    form_class = TextbookForm
    template_name = "bench/textbook.html"

    def get_initial(self):
        return self.request.session.get("bench_textbook", {})

    def form_valid(self, form):
        self.request.session["bench_textbook"] = form.cleaned_data
        return self.render_to_response(self.get_context_data(form=TextbookForm(initial=form.cleaned_data)))
