"""The API's routes, one module per concept; :func:`smartfab.web.api.create_app` assembles them."""
