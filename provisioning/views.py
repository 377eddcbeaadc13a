from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def stalled(request):
    return render(request, "provisioning/stalled.html", {"rows": []})
