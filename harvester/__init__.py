"""harvester: a living, auditable map of how open AI models really are."""

__version__ = "0.1.0"
