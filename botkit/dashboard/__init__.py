"""The live dashboard of a run: an ASGI app (Starlette, served by Hypercorn) in the
engine's task group, with a JSON API, a Server-Sent Events stream and one page.

Only the settings are imported here: the server's libraries load when a run asks for it.
"""

from ._settings import DashboardSettings

__all__ = ["DashboardSettings"]
