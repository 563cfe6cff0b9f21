"""WSGI entry point (gunicorn qms.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from qms.startup import serving_check

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms.settings")
serving_check()  # no server without a SECRET_KEY
application = get_wsgi_application()
