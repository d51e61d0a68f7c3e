"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

from supportapp import create_app

app = create_app()
