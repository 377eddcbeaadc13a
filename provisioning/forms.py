from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Product
from provisioning import selectors

PAGE_SIZES = [25, 50, 100, 200]


class StalledFilterForm(forms.Form):
    """The dashboard's filters (GET). Every field is optional; an invalid value drops only its own
    field (a stale bookmark with a retired page size keeps the rest of its filters)."""

    reps = forms.ChoiceField(label=_("Orders of"), required=False,
                             choices=[("mine", _("Me")), ("all", _("All reps"))])
    product = forms.ChoiceField(label=_("Product"), required=False,
                                choices=[("", _("All products"))] + Product.choices)
    overdue = forms.TypedChoiceField(label=_("Overdue by"), required=False, coerce=int, empty_value=None,
                                     choices=[("", _("Any number of days")), (2, _("2 days or more")),
                                              (7, _("7 days or more")), (14, _("14 days or more")),
                                              (30, _("30 days or more"))])
    setup = forms.ChoiceField(label=_("Setup"), required=False, choices=[
        ("", _("All")), (selectors.SETUP_BEGUN, _("Setup begun")),
        (selectors.NEVER_BEGUN, _("Setup never begun")), (selectors.EMAIL_FAILED, _("Email failed")),
        (selectors.WAITING_APPROVAL, _("Waiting for the partner's approval"))])
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        help_text=_("Order number, partner, customer or email"))
    per_page = forms.TypedChoiceField(label=_("Per page"), required=False, coerce=int, empty_value=25,
                                      choices=[(n, str(n)) for n in PAGE_SIZES])

    def _valid_data(self):
        # Django leaves a field that fails validation out of cleaned_data: what is there is valid.
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data

    def filters(self):
        data = self._valid_data()
        return {"everyone": data.get("reps") == "all", "product": data.get("product") or "",
                "min_days_overdue": data.get("overdue"), "setup": data.get("setup") or "",
                "search": data.get("q") or ""}

    def page_size(self):
        return self._valid_data().get("per_page") or PAGE_SIZES[0]


class ChangeContactForm(forms.Form):
    email = forms.EmailField(label=_("New deployment contact email"))
    apply_to_lines = forms.BooleanField(
        label=_("Apply to the order's other lines"), required=False, initial=True,
        help_text=_("Every line of the order gets this deployment contact too."))

    def __init__(self, *args, multi_line=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not multi_line:
            del self.fields["apply_to_lines"]

    def applies_to_lines(self):
        # One line: there is no other line to ask about, and that line follows the order.
        return self.cleaned_data.get("apply_to_lines", True)


class ContactedForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("What you agreed with the partner, for the order's history."))
