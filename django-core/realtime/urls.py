from common.urls import optional_slash
from realtime import apis

urlpatterns = [
    *optional_slash("realtime/ticket", apis.TicketApi.as_view(), name="realtime-ticket"),
]
