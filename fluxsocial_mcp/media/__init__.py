"""Media: SSRF-safe downloading of user-supplied URLs and image normalisation."""

from .fetch import FetchedMedia, FetchPolicy, Resolver, address_refusal, fetch_json, fetch_media
from .process import (
    IMAGE_SIZE,
    MAX_IMAGE_PIXELS,
    normalize_image,
    sniff_image,
    sniff_video,
    verify_image,
    verify_video,
)

__all__ = [
    "IMAGE_SIZE",
    "MAX_IMAGE_PIXELS",
    "FetchPolicy",
    "FetchedMedia",
    "Resolver",
    "address_refusal",
    "fetch_json",
    "fetch_media",
    "normalize_image",
    "sniff_image",
    "sniff_video",
    "verify_image",
    "verify_video",
]
