"""The workspace image: its definition under containers/opencode-workspace/, the container engine, `make image`.

Other code imports the image name from here: `ocw.image.definition.local_image()`.
"""
