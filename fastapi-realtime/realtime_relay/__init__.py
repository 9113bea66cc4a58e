"""fastapi-realtime: the database-less WebSocket relay of TaskFlow (see ../README.md)."""
