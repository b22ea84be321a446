from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .throttling import login_throttled

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("login/", login_throttled(auth_views.LoginView.as_view()), name="login"),
    path("", include("django.contrib.auth.urls")),
]
