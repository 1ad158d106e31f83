"""The loading engine's public API; the implementation lives in feeds.loading."""

from feeds.loading import *  # noqa: F403 - this module is the engine's front door
from feeds.loading import __all__  # noqa: F401
