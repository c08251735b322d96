"""JSON schemas: where they come from (vendored, the user cache, `--schemas DIR`, the public catalogs), `ocw schemas`
to refresh them, and validation of objects and app-template values against them."""
