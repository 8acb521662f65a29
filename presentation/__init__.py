"""Presentation: what users read (jinja2 templates in templates/). No Telegram, no storage."""
