"""`python -m ocw.image`: build the workspace image (what `make image` runs) or print its local name."""

from __future__ import annotations

import argparse
import json
import sys

from ocw.errors import EXIT_INTERRUPTED, OcwError
from ocw.image import definition
from ocw.image.build import ensure_image, stderr_progress
from ocw.image.engine import image_exists, require_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ocw.image",
        description="The workspace image (containers/opencode-workspace/), built locally with podman.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the image unless this checkout's image is already built")
    build.add_argument("--refresh-base", action="store_true", help="bootstrap the Debian base anew, then rebuild")
    build.add_argument("--json", action="store_true", help="print the result as JSON")
    name = sub.add_parser("name", help="print the local image name for this checkout and whether it is built")
    name.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        engine = require_engine()
        if args.command == "build":
            image, built = ensure_image(engine, stderr_progress, refresh_base=args.refresh_base, stream=not args.json)
            result = {"image": image, "built": built, "engine": engine.name}
            if not built:
                print(f"{image} is up to date (its inputs are unchanged)", file=sys.stderr)
        else:
            image = definition.local_image()
            result = {"image": image, "present": image_exists(engine, image), "engine": engine.name}
    except OcwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(json.dumps(result) if args.json else result["image"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
