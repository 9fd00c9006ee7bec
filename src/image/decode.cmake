# decode: sources and tests (JPEG/PNG -> RGB like Pillow)
