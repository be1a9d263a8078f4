"""FluxSocial: a self-hostable developer platform for AI-made social media content."""

__version__ = "0.1.0"
