from accounts import apis
from common.urls import optional_slash

urlpatterns = [
    *optional_slash("auth/register", apis.RegisterApi.as_view(), name="auth-register"),
    *optional_slash("auth/login", apis.LoginApi.as_view(), name="auth-login"),
    *optional_slash("auth/refresh", apis.RefreshApi.as_view(), name="auth-refresh"),
    *optional_slash("auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    *optional_slash("auth/verify-email", apis.VerifyEmailApi.as_view(), name="auth-verify-email"),
    *optional_slash("auth/password-reset", apis.PasswordResetApi.as_view(), name="auth-password-reset"),
    *optional_slash(
        "auth/password-reset/confirm", apis.PasswordResetConfirmApi.as_view(), name="auth-password-reset-confirm"
    ),
    *optional_slash("users/me", apis.MeApi.as_view(), name="users-me"),
    *optional_slash("users/me/verify-email", apis.VerifyEmailResendApi.as_view(), name="users-me-verify-email"),
    *optional_slash("users/me/password", apis.PasswordChangeApi.as_view(), name="users-me-password"),
]
