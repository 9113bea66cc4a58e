from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class UserJWTScheme(SimpleJWTScheme):
    """Documents UserJWTAuthentication as the bearer JWT scheme it is."""

    target_class = "accounts.authentication.UserJWTAuthentication"
    name = "jwtAuth"
