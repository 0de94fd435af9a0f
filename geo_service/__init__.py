"""Border-situation monitoring service for the joint Police Cooperation Centre."""

__version__ = "0.1.0"
