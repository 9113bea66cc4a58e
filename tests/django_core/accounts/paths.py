"""The accounts endpoints, written once (every path also accepts a trailing slash)."""

REGISTER_URL = "/api/auth/register"
LOGIN_URL = "/api/auth/login"
REFRESH_URL = "/api/auth/refresh"
LOGOUT_URL = "/api/auth/logout"
ME_URL = "/api/users/me"
PASSWORD_URL = "/api/users/me/password"
