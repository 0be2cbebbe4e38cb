"""HTTP routers; `service.app.create_app` mounts each one with `include_router`."""
