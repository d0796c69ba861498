"""followup: track the follow-up of breast calcifications seen on mammograms."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("followup")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
