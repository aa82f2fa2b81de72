"""findcode: semantic code search over a local index, for editors and the command line."""

__version__ = "0.1.0"
