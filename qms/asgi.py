"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from qms.startup import serving_check

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms.settings")
serving_check()  # no server without a SECRET_KEY
application = get_asgi_application()
