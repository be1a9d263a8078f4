"""AI backends for text, images and video, behind the Protocols of ``base``."""
