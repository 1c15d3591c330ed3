from tests.console.conftest import client, world

__all__ = ["client", "world"]
