from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from accounts.forms import AdminLoginForm
from common.apis import HealthApi
from common.docs import SchemaApi, SwaggerUiApi
from common.errors import page_not_found
from common.observability.http import live_view, metrics_view, ready_view
from common.urls import optional_slash

# Admin sign-in goes through the API's throttled credentials check (one lockout for both).
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("admin/", admin.site.urls),
    *optional_slash("api/health", HealthApi.as_view(), name="health"),
    *optional_slash("api/schema", SchemaApi.as_view(), name="schema"),
    *optional_slash("api/docs", SwaggerUiApi.as_view(url_name="schema"), name="docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("projects.urls")),
    path("api/", include("tasks.urls")),
    path("api/", include("notifications.urls")),
    path("api/", include("realtime.urls")),
    path("api/", include("telegram.urls")),
    # The bot's API (service token; the gateway does not route /internal).
    path("internal/telegram/", include("telegram.internal_urls")),
    # Metrics and the process's liveness/readiness (docs/operations.md): service network only.
    path("internal/metrics", metrics_view, name="metrics"),
    path("internal/live", live_view, name="live"),
    path("internal/ready", ready_view, name="ready"),
    # Unknown API paths answer JSON even with DEBUG on (never the HTML technical page).
    re_path(r"^(api|internal)/", csrf_exempt(page_not_found)),
]

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
