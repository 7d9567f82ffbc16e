"""A handler module that binds nothing (for tests of unbound service tasks)."""
from engine import Handlers

handlers = Handlers()
