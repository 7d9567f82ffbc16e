"""Durable storage: definitions, instances, history, incidents and due work (SQLAlchemy 2 + Alembic)."""
