"""Reads for accounts."""

from functools import cache

from django.db import connections, router

from accounts.models import User


@cache
def _user_by_id_statement() -> tuple[str, list[str]]:
    """The primary-key lookup of every concrete column, as SQL, and the attribute names in its
    column order. Built once: the user table's shape is fixed for the process's life."""
    fields = User._meta.concrete_fields
    quote = connections["default"].ops.quote_name
    columns = ", ".join(f"{quote(User._meta.db_table)}.{quote(str(field.column))}" for field in fields)
    sql = f"SELECT {columns} FROM {quote(User._meta.db_table)} WHERE {quote(str(User._meta.pk.column))} = %s"  # noqa: S608 (names from the model, quoted; the value bound)
    return sql, [field.attname for field in fields]


def user_get_by_id(*, user_id: int) -> User | None:
    """The user with this id, read from the database on every call (no cache: deactivation and a
    password change must take effect at once), or None.

    The same row `User.objects.get(pk=...)` loads, without the ORM compiling the query each time:
    that compilation was most of the ~1.5 ms the authentication's user lookup cost on every
    request (docs/architecture.md "Performance")."""
    sql, attnames = _user_by_id_statement()
    alias = router.db_for_read(User)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [user_id])
        row = cursor.fetchone()
    return None if row is None else User.from_db(alias, attnames, row)
