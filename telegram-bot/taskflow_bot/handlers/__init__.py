"""One router per feature; `routers()` gives them in the order the dispatcher tries them."""

from aiogram import Router

from taskflow_bot.handlers import (
    cancel,
    fallback,
    help,
    language,
    notifications,
    projects,
    replies,
    start,
    tasks,
    unlink,
)


def routers() -> list[Router]:
    # /start with a token before /start without; the comment flow's "next message" before
    # replies (the user was asked for exactly that message); the fallback last.
    return [
        start.router,
        help.router,
        cancel.router,
        notifications.router,
        replies.router,
        tasks.router,
        projects.router,
        language.router,
        unlink.router,
        fallback.router,
    ]
