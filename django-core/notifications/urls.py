from common.urls import optional_slash
from notifications import apis

urlpatterns = [
    *optional_slash("notifications", apis.NotificationListApi.as_view(), name="notification-list"),
    *optional_slash("notifications/unread-count", apis.UnreadCountApi.as_view(), name="notification-unread-count"),
    *optional_slash("notifications/read-all", apis.ReadAllApi.as_view(), name="notification-read-all"),
    *optional_slash("notifications/preferences", apis.PreferencesApi.as_view(), name="notification-preferences"),
    *optional_slash(
        "notifications/<int:notification_id>/read", apis.NotificationReadApi.as_view(), name="notification-read"
    ),
]
