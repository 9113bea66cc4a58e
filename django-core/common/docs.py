"""The API's own documentation: the OpenAPI schema and a Swagger UI served from our static files
(drf-spectacular-sidecar, pinned), never a CDN, under a CSP that lets only this origin's scripts
run: the page shares its origin with the web client and its tokens, so a third-party script
here could read them. The init script is served from /api/docs?script (drf-spectacular's split
view), not inline. Off in production unless API_DOCS_ENABLED: then a JSON 404 like any
unknown path."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from common.errors import page_not_found

# Swagger UI sets inline style attributes and draws icons from data: URLs; everything else is
# this origin's. The gateway sends the same policy for /api/docs (gateway/nginx.conf.template).
API_DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class SchemaApi(SpectacularAPIView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.API_DOCS_ENABLED:
            return page_not_found(request)
        return super().dispatch(request, *args, **kwargs)


class SwaggerUiApi(SpectacularSwaggerSplitView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.API_DOCS_ENABLED:
            return page_not_found(request)
        response = super().dispatch(request, *args, **kwargs)
        response["Content-Security-Policy"] = API_DOCS_CSP
        return response
