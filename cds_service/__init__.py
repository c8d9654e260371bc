"""CDS Hooks service that recognises the four patterns of leg pain on walking."""

__version__ = "0.1.0"
