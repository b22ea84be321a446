from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from .selectors import node_overview


@staff_member_required
def dashboard(request):
    return render(request, "dispatchers/dashboard.html", {"nodes": node_overview()})
