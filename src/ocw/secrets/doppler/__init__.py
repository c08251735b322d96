"""Doppler, reached two ways: its CLI (`cli.py`) or its REST API v3 (`api.py`); `errors.py` words their failures."""
