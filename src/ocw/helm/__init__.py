"""Mirrors of what Helm renders for the charts the tree uses."""
