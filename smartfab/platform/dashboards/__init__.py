"""Dashboards people build in the web app: the versioned document (``schema``), the book that
keeps them with their owner and sharing (``book``) and a default dashboard per line from the plant
model (``defaults``)."""
