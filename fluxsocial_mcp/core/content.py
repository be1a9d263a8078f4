"""Content: generating suggestions and their images, reading them, and uploading user media."""

from __future__ import annotations

import anyio
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ids
from ..errors import BadRequest, NotFound, UnsupportedMedia
from ..media.fetch import FetchedMedia, FetchPolicy, fetch_media
from ..media.process import normalize_image
from ..models import GenerationSession, Media, Suggestion, SuggestionMedia
from ..providers.base import BusinessProfile, ImageRequest, TextRequest
from . import content_dna, credits
from .caller import Caller
from .catalog import owned_business
from .schemas import (
    ContentResult,
    GenerateContentInput,
    GenerateContentResult,
    GenerateImageInput,
    GenerateImageResult,
    ImageOut,
    SuggestionInput,
    SuggestionOut,
    UploadMediaInput,
    UploadMediaResult,
)
from .service import Core

MAX_CAROUSEL_SLIDES = 10
# What a format needs from uploaded media.
FORMAT_MEDIA_KINDS: dict[str, frozenset[str]] = {
    "IMAGE": frozenset({"image"}),
    "CAROUSEL": frozenset({"image"}),
    "VIDEO": frozenset({"video"}),
    "REEL": frozenset({"video"}),
    "STORY": frozenset({"image", "video"}),
}


async def owned_suggestion(session: AsyncSession, caller: Caller, suggestion_id: str) -> Suggestion:
    suggestion = await session.get(Suggestion, suggestion_id)
    if (
        suggestion is None
        or suggestion.user_id != caller.user_id
        or (caller.business_ids is not None and suggestion.business_id not in caller.business_ids)
    ):
        raise NotFound(f"Content {suggestion_id} not found")
    return suggestion


def summarize(suggestion: Suggestion) -> SuggestionOut:
    return SuggestionOut(
        id=suggestion.id,
        title=suggestion.title,
        body=suggestion.body,
        content_format=suggestion.content_format,
        tags=list(suggestion.tags),
    )


async def generate_content(core: Core, caller: Caller, request: GenerateContentInput) -> GenerateContentResult:
    async with core.db.transaction() as session:
        business = await owned_business(session, caller, request.business_id)
    profile = BusinessProfile(
        name=business.name,
        type=business.type,
        industry=business.industry,
        timezone=business.timezone,
        language=business.language,
    )
    # SPEC §5: no language given -> the content DNA's, else the prompt's (the generator's call).
    voice = await content_dna.voice_for(
        core.db, business.id, use_content_dna=request.use_content_dna, language=request.language
    )
    language = request.language or voice.language
    if request.language and core.text.languages is not None and request.language not in core.text.languages:
        raise BadRequest(
            f"'language' {request.language} is not one the {core.text.name} text generator writes "
            f"({', '.join(sorted(core.text.languages))}); configure an AI provider for other languages"
        )
    session_id = ids.new_id(ids.SESSION)
    async with credits.charged(core.db, caller, "text", session_id) as charge:
        generated = await core.text.generate(
            TextRequest(
                prompt=request.prompt,
                business=profile,
                content_format=request.content_format,
                count=request.suggestion_count,
                language=language,
                content_dna=voice.description,
                examples=voice.examples,
            )
        )
        drafts = generated.suggestions[: request.suggestion_count]
        if not drafts:
            raise RuntimeError(f"text generator {generated.generator} returned no suggestions")
        now = core.now()
        suggestions = [
            Suggestion(
                id=ids.new_id(ids.SUGGESTION),
                session_id=session_id,
                user_id=caller.user_id,
                business_id=business.id,
                title=draft.title[:300],
                body=draft.body,
                content_format=request.content_format,
                tags=[tag.lstrip("#") for tag in draft.tags],
                image_prompts=list(draft.image_prompts),
                language=draft.language,
                generator=generated.generator,
                created_at=now,
                updated_at=now,
            )
            for draft in drafts
        ]
        async with core.db.transaction() as session:
            session.add(
                GenerationSession(
                    id=session_id,
                    user_id=caller.user_id,
                    business_id=business.id,
                    api_key_id=caller.api_key_id,
                    kind="generate",
                    prompt=request.prompt,
                    generator=generated.generator,
                    created_at=now,
                )
            )
            await session.flush()
            session.add_all(suggestions)
    return GenerateContentResult(
        session_id=session_id,
        suggestions=[summarize(s) for s in suggestions],
        credits_used=charge.cost,
        balance_after=charge.balance_after,
    )


async def slide_media(session: AsyncSession, suggestion_id: str, kind: str | None = None) -> list[tuple[int, Media]]:
    query = (
        select(SuggestionMedia.order_index, Media)
        .join(Media, Media.id == SuggestionMedia.media_id)
        .where(SuggestionMedia.suggestion_id == suggestion_id)
        .order_by(SuggestionMedia.order_index)
    )
    if kind is not None:
        query = query.where(SuggestionMedia.kind == kind)
    return [(index, media) for index, media in (await session.execute(query)).all()]


async def get_content(core: Core, caller: Caller, request: SuggestionInput) -> ContentResult:
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, request.suggestion_id)
        images = await slide_media(session, suggestion.id, kind="image")
    return ContentResult(
        **summarize(suggestion).model_dump(),
        images=[ImageOut(image_url=core.media.url_for(media), order_index=index) for index, media in images],
    )


def _image_prompt(suggestion: Suggestion, request: GenerateImageInput) -> str:
    index = request.image_index
    prompts = suggestion.image_prompts
    limit = MAX_CAROUSEL_SLIDES if suggestion.content_format == "CAROUSEL" else 1
    if index >= limit:
        raise BadRequest(
            f"'imageIndex' {index} is out of range: this {suggestion.content_format} post has "
            + (f"at most {limit} slides (0-{limit - 1})" if limit > 1 else "a single image (index 0)")
        )
    if request.custom_prompt:
        return request.custom_prompt
    if index < len(prompts):
        return prompts[index]
    raise BadRequest(
        f"'imageIndex' {index} has no stored image prompt (this suggestion has {len(prompts)}); "
        "pass 'customPrompt' for extra slides"
    )


async def generate_image(core: Core, caller: Caller, request: GenerateImageInput) -> GenerateImageResult:
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, request.suggestion_id)
        business = await owned_business(session, caller, suggestion.business_id)
    prompt = _image_prompt(suggestion, request)
    async with credits.charged(core.db, caller, "image", suggestion.id) as charge:
        image = await core.images.generate(
            ImageRequest(
                prompt=prompt,
                title=suggestion.title,
                business_name=business.name,
                content_format=suggestion.content_format,  # type: ignore[arg-type]
                slide_index=request.image_index,
                slide_count=max(len(suggestion.image_prompts), request.image_index + 1),
            )
        )
        media_id, filename = await core.media.write(image.data, image.content_type)
        async with core.db.transaction() as session:
            media = core.media.record(
                session,
                media_id=media_id,
                filename=filename,
                user_id=caller.user_id,
                data=image.data,
                content_type=image.content_type,
                kind="image",
                origin=image.generator,
            )
            await session.flush()
            # A new image for a slide replaces the old one.
            await session.execute(
                delete(SuggestionMedia).where(
                    SuggestionMedia.suggestion_id == suggestion.id,
                    SuggestionMedia.order_index == request.image_index,
                )
            )
            session.add(
                SuggestionMedia(
                    id=ids.new_id("sme"),
                    suggestion_id=suggestion.id,
                    order_index=request.image_index,
                    kind="image",
                    media_id=media.id,
                )
            )
    return GenerateImageResult(image_url=core.media.url_for(media), credits_used=charge.cost)


def _upload_urls(request: UploadMediaInput) -> list[str]:
    if request.content_format == "CAROUSEL":
        if request.media_urls is None:
            raise BadRequest("'mediaUrls' is required for CAROUSEL: 2-10 image URLs")
        return list(request.media_urls)
    if request.media_urls is not None:
        raise BadRequest("'mediaUrls' is for CAROUSEL only; use 'mediaUrl'")
    if not request.media_url:
        raise BadRequest("'mediaUrl' is required")
    return [request.media_url]


async def _fetch_for_format(url: str, policy: FetchPolicy, content_format: str) -> FetchedMedia:
    fetched = await fetch_media(url, policy)
    allowed = FORMAT_MEDIA_KINDS[content_format]
    if fetched.kind not in allowed:
        raise UnsupportedMedia(
            f"contentFormat {content_format} needs {' or '.join(sorted(allowed))}, "
            f"but the media is {fetched.kind} ({fetched.content_type})"
        )
    return fetched


async def upload_media(core: Core, caller: Caller, request: UploadMediaInput) -> UploadMediaResult:
    urls = _upload_urls(request)
    async with core.db.transaction() as session:
        business = await owned_business(session, caller, request.business_id)
    policy = FetchPolicy.from_settings(core.settings)
    stored: list[tuple[str, str, bytes, str, str]] = []
    for url in urls:
        fetched = await _fetch_for_format(url, policy, request.content_format)
        if fetched.kind == "image":
            data = await anyio.to_thread.run_sync(normalize_image, fetched.data)
            content_type = "image/jpeg"
        else:
            data, content_type = fetched.data, fetched.content_type
        media_id, filename = await core.media.write(data, content_type)
        stored.append((media_id, filename, data, content_type, fetched.kind))

    now = core.now()
    session_id = ids.new_id(ids.SESSION)
    suggestion_id = ids.new_id(ids.SUGGESTION)
    caption = request.caption
    async with core.db.transaction() as session:
        session.add(
            GenerationSession(
                id=session_id,
                user_id=caller.user_id,
                business_id=business.id,
                api_key_id=caller.api_key_id,
                kind="upload",
                prompt="",
                generator="upload",
                created_at=now,
            )
        )
        await session.flush()
        session.add(
            Suggestion(
                id=suggestion_id,
                session_id=session_id,
                user_id=caller.user_id,
                business_id=business.id,
                title=request.title or caption[:50],
                body=caption,
                content_format=request.content_format,
                tags=[tag.strip().lstrip("#") for tag in request.tags or [] if tag.strip().lstrip("#")],
                image_prompts=[],
                language=business.language or "en",
                generator="upload",
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        medias = [
            core.media.record(
                session, media_id=media_id, filename=filename, user_id=caller.user_id,
                data=data, content_type=content_type, kind=kind, origin="upload",
            )
            for media_id, filename, data, content_type, kind in stored
        ]
        await session.flush()
        for index, media in enumerate(medias):
            session.add(
                SuggestionMedia(
                    id=ids.new_id("sme"), suggestion_id=suggestion_id, order_index=index,
                    kind=media.kind, media_id=media.id,
                )
            )
    return UploadMediaResult(
        suggestion_id=suggestion_id,
        session_id=session_id,
        content_format=request.content_format,
        media_url=core.media.url_for(medias[0]),
        credits_used=0,
    )
