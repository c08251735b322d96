from support.image import workspace_image  # noqa: F401 - the session fixture
