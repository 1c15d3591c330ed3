"""Database: SQLAlchemy 2 models, engine, Alembic migrations."""
