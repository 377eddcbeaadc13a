from django.urls import path

from bench import views

urlpatterns = [
    path("role/", views.BareRoleView.as_view(), name="bench_bare_role"),
    path("textbook/", views.TextbookView.as_view(), name="bench_textbook"),
]
