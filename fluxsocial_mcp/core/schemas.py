"""The inputs and results of every operation, shared word for word by REST and MCP.

Field names are the public API's (camelCase on the wire). Inputs ignore unknown
fields and refuse wrong types: numbers and booleans are strict, so ``"4"`` is
not a suggestion count.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from ..errors import BadRequest
from .languages import LANGUAGES

ContentFormat = Literal["IMAGE", "VIDEO", "CAROUSEL", "REEL", "STORY", "TEXT"]
MediaFormat = Literal["IMAGE", "VIDEO", "CAROUSEL", "REEL", "STORY"]
PlatformName = Literal["instagram", "facebook", "tiktok", "linkedin", "x", "threads"]
PostStatus = Literal["DRAFT", "SCHEDULED", "PUBLISHING", "POSTED", "PARTIALLY_POSTED", "FAILED", "CANCELLED"]
TargetStatus = Literal["scheduled", "publishing", "success", "failed", "cancelled", "unconfirmed"]


def format_time(value: datetime) -> str:
    """UTC with milliseconds and ``Z``, as the public docs show: 2026-04-09T09:30:00.000Z."""
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _parse_offset_time(value: str) -> datetime:
    try:
        text = value.strip()
        # RFC 3339 allows a lowercase "z" as well.
        parsed = datetime.fromisoformat(text[:-1] + "Z" if text.endswith("z") else text)
    except ValueError:
        raise ValueError("must be an ISO 8601 datetime such as 2026-04-09T09:30:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("must carry a timezone offset (Z or ±HH:MM)")
    return parsed.astimezone(timezone.utc)


OffsetDateTime = Annotated[str, AfterValidator(_parse_offset_time)]
def non_blank(max_length: int) -> Any:
    """Text that is not only white space, at most ``max_length`` characters."""
    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(_non_blank)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


def _nul_field(value: Any, path: str = "") -> str | None:
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _nul_field(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _iso_639_1(value: str) -> str:
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise ValueError("must be a two-letter ISO 639-1 language code such as en, es or he")
    return code


def _comma_ids(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Input(_Model):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL text cannot hold U+0000, and no legitimate input carries it: refuse it
        # here, for every field, so SQLite and PostgreSQL answer the same 400.
        field = _nul_field(data)
        if field is not None:
            raise ValueError(f"'{field}' must not contain NUL (U+0000) characters")
        return data


class Output(_Model):
    def render(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def parse_input(model: type[Input], data: Any) -> Any:
    """Validate ``data`` into ``model``; a failure is a 400 that names the field and why."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"]
        if not field:
            problems.append(message.removeprefix("Value error, "))
        elif error["type"] == "missing":
            problems.append(f"'{field}' is required")
        else:
            problems.append(f"'{field}' {_lower_first(message.removeprefix('Value error, '))}")
    return "Invalid request: " + "; ".join(problems)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# ----- inputs -------------------------------------------------------------------------

class NoInput(Input):
    pass


class CostPreviewInput(Input):
    type: Literal["text", "image", "video"] = Field(description='What to price: "text", "image" or "video".')


class ListAccountsInput(Input):
    business_id: Id | None = Field(None, description="Only the accounts of this business.")


class GenerateContentInput(Input):
    prompt: non_blank(4000) = Field(description="The topic or description of the post.")
    business_id: Id = Field(description="The business to write for (from list_businesses).")
    content_format: ContentFormat = Field("IMAGE", description="The kind of post to write for.")
    use_content_dna: StrictBool = Field(
        False, alias="useContentDNA", description="Match the tone of the business's best past posts."
    )
    language: Annotated[str, AfterValidator(_iso_639_1)] | None = Field(
        None, description="ISO 639-1 code of the output language; omitted: the business's, else the prompt's."
    )
    suggestion_count: Annotated[StrictInt, Field(ge=1, le=6)] = Field(4, description="How many suggestions, 1-6.")


class SuggestionInput(Input):
    suggestion_id: Id = Field(description="The suggestion (content) id, sug_….")


class GenerateImageInput(SuggestionInput):
    image_index: Annotated[StrictInt, Field(ge=0, le=9)] = Field(0, description="0-based slide index.")
    custom_prompt: non_blank(4000) | None = Field(
        None, description="Replaces the suggestion's stored image prompt for this slide."
    )


class Target(Input):
    account_id: Id = Field(description="A connected account id, acc_….")
    platform: PlatformName = Field(description="The account's platform.")


Targets = Annotated[list[Target], Field(min_length=1, max_length=20)]


class PostContentInput(SuggestionInput):
    targets: Targets = Field(description="Where to publish: one or more {accountId, platform}.")
    scheduled_for: OffsetDateTime | None = Field(
        None, description="ISO 8601 time with offset to publish later instead of now."
    )


class ScheduleContentInput(SuggestionInput):
    scheduled_for: OffsetDateTime = Field(description="ISO 8601 time with offset, in the future, within a year.")
    targets: Targets = Field(description="Where to publish: one or more {accountId, platform}.")


class OptimalTimeInput(Input):
    business_id: Id = Field(description="The business to analyse.")
    account_ids: Annotated[list[Id], BeforeValidator(_comma_ids)] | None = Field(
        None, description="Comma-separated account ids to narrow the analysis."
    )


class GenerateVideoInput(Input):
    prompt: non_blank(4000) = Field(
        description="Scene description: subject, action, camera, mood."
    )
    duration: Literal[4, 6, 8] = Field(8, description="Seconds: 4, 6 or 8.")
    aspect_ratio: Literal["9:16", "16:9"] = Field("9:16", description='"9:16" vertical or "16:9" horizontal.')
    style: Literal["realistic", "animated", "cinematic", "social"] = Field("social", description="Visual style.")


class VideoInput(Input):
    operation_id: Id = Field(description="The operation id from generate_video, op_….")


class UploadMediaInput(Input):
    media_url: Annotated[str, Field(max_length=2048)] | None = Field(
        None, description="HTTPS URL of the image or video (not needed when mediaUrls is given)."
    )
    business_id: Id = Field(description="The business the post belongs to.")
    caption: non_blank(10000) = Field(description="Caption text for the post.")
    content_format: MediaFormat = Field(description="IMAGE, VIDEO, CAROUSEL, REEL or STORY.")
    title: non_blank(200) | None = Field(
        None, description="Defaults to the first 50 characters of the caption."
    )
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=30)] | None = Field(
        None, description="Hashtags without the # prefix."
    )
    media_urls: Annotated[list[Annotated[str, Field(max_length=2048)]], Field(min_length=2, max_length=10)] | None = (
        Field(None, description="CAROUSEL only: 2-10 HTTPS image URLs, replacing mediaUrl.")
    )


# ----- results ------------------------------------------------------------------------

class BalanceResult(Output):
    balance: int


class CostPreviewResult(Output):
    type: str
    cost: int
    current_balance: int


class BusinessOut(Output):
    id: str
    name: str
    type: str
    industry: str


class BusinessesResult(Output):
    businesses: list[BusinessOut]


class AccountOut(Output):
    id: str
    platform: str
    username: str
    followers: int


class AccountsResult(Output):
    accounts: list[AccountOut]


class SuggestionOut(Output):
    id: str
    title: str
    body: str
    content_format: str
    tags: list[str]


class GenerateContentResult(Output):
    session_id: str
    suggestions: list[SuggestionOut]
    credits_used: int
    balance_after: int


class ImageOut(Output):
    image_url: str
    order_index: int


class ContentResult(SuggestionOut):
    images: list[ImageOut]


class GenerateImageResult(Output):
    image_url: str
    credits_used: int


class TargetResult(Output):
    platform: str
    account_id: str
    status: TargetStatus
    post_url: str | None = None
    error: str | None = None
    # auth_expired | rate_limited | rejected_content | media_error | platform_down
    error_category: str | None = None


class PostResult(Output):
    suggestion_id: str
    results: list[TargetResult]


class TargetOut(Output):
    account_id: str
    platform: str


class ScheduleResult(Output):
    suggestion_id: str
    scheduled_for: str
    targets: list[TargetOut]


class CancelResult(Output):
    suggestion_id: str
    cancelled: bool


class PostStatusResult(Output):
    id: str
    status: PostStatus
    platforms: list[TargetResult]


class OptimalTimeData(Output):
    scheduled_date_time: str
    confidence: float
    reasoning: str


class OptimalTimeResult(Output):
    success: bool
    data: OptimalTimeData


class VideoStartedResult(Output):
    operation_id: str
    status: Literal["processing", "completed", "failed"]


class VideoStatusResult(Output):
    operation_id: str
    status: Literal["processing", "completed", "failed"]
    video_url: str | None = None
    duration: int | None = None
    error: str | None = None


class UploadMediaResult(Output):
    suggestion_id: str
    session_id: str
    content_format: str
    media_url: str
    credits_used: int
