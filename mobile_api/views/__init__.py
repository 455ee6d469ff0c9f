"""Views, one module per area; registered by ``config.scan``."""
