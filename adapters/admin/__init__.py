"""The web console for program admins (``/admin``, an aiohttp sub-application mounted by ``adapters.server``).

Server-rendered pages (Jinja2) over ``bot.domain.analytics`` and ``bot.domain.console``; charts drawn in the
browser by the vendored Chart.js (``static/vendor/chartjs``, MIT), each with a data table beside it. No CDN at run time.
"""

from adapters.admin.web import build_console

__all__ = ["build_console"]
