"""One module per platform, all behind the Channel interface in base.py."""
