"""Create the database named in DATABASE_URL when it does not exist yet."""

import os
import sys
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/taskflow")
name = urlsplit(url).path.lstrip("/")
if not name:
    sys.exit("DATABASE_URL names no database")
admin_url = urlsplit(url)._replace(path="/postgres").geturl()
with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as connection:
    exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if exists:
        print(f"==> Database {name} exists")
    else:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"==> Created database {name}")
