from django.contrib.auth.decorators import login_required
from django.shortcuts import render


def home(request):
    return render(request, "onboarding/home.html")


@login_required
def my_orders(request):
    return render(request, "onboarding/my_orders.html", {"orders": []})
