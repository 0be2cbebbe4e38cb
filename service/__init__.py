"""`postmortem serve`: the incident database and drafting engine behind an HTTP API.

`service.app.create_app(settings)` builds the FastAPI application; `service.cli` starts it.
"""
