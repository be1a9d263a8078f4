"""The public operations, each defined once: REST and MCP both run them through ``invoke``.

An operation names its core function, the scope it needs, the rate-limit bucket
it counts against, its input and result models, and how an MCP client should
treat it. The two edges only parse, ``invoke`` and render, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .core import catalog, content, optimal_time, publishing, video
from .core.caller import (
    ACCOUNTS_READ,
    BUSINESSES_READ,
    CONTENT_READ,
    CONTENT_WRITE,
    CREDITS_READ,
    POST_WRITE,
    Caller,
)
from .core.ratelimit import Bucket, RateLimiter, RateLimitStatus
from .core.schemas import (
    AccountsResult,
    BalanceResult,
    BusinessesResult,
    CancelResult,
    ContentResult,
    CostPreviewInput,
    CostPreviewResult,
    GenerateContentInput,
    GenerateContentResult,
    GenerateImageInput,
    GenerateImageResult,
    GenerateVideoInput,
    Input,
    ListAccountsInput,
    NoInput,
    OptimalTimeInput,
    OptimalTimeResult,
    Output,
    PostContentInput,
    PostResult,
    PostStatusResult,
    ScheduleContentInput,
    ScheduleResult,
    SuggestionInput,
    UploadMediaInput,
    UploadMediaResult,
    VideoInput,
    VideoStartedResult,
    VideoStatusResult,
    parse_input,
)
from .core.service import Core
from .errors import FluxError


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    description: str
    scope: str
    bucket: Bucket
    input: type[Input]
    output: type[Output]
    run: Callable[[Core, Caller, Any], Awaitable[Output]]
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    # Reaches outside FluxSocial (AI models, social platforms, the web).
    open_world: bool = False


OPERATIONS: dict[str, Operation] = {op.name: op for op in [
    Operation(
        "get_credit_balance", "Get credit balance",
        "Return the user's remaining FluxSocial credits (shared by the web app, the REST API and MCP).",
        CREDITS_READ, "general", NoInput, BalanceResult, catalog.get_credit_balance,
        read_only=True, idempotent=True,
    ),
    Operation(
        "preview_cost", "Preview generation cost",
        "Return what a generation costs (text 20, image 50, video 500 credits) and the current balance. "
        "Call before expensive work to confirm the user can afford it.",
        CREDITS_READ, "general", CostPreviewInput, CostPreviewResult, catalog.preview_cost,
        read_only=True, idempotent=True,
    ),
    Operation(
        "generate_content", "Generate post ideas",
        "Write 1-6 social media post suggestions (title, caption body, hashtags) for a business from a prompt. "
        "Costs 20 credits. Get businessId from list_businesses first. Returns suggestion ids to use with "
        "generate_image, post_content and schedule_content.",
        CONTENT_WRITE, "content", GenerateContentInput, GenerateContentResult, content.generate_content,
        open_world=True,
    ),
    Operation(
        "get_content", "Get content",
        "Return one suggestion by id: title, body, format, hashtags and its generated images.",
        CONTENT_READ, "general", SuggestionInput, ContentResult, content.get_content,
        read_only=True, idempotent=True,
    ),
    Operation(
        "generate_image", "Generate image",
        "Create an AI image for one slide of a suggestion (50 credits). Uses the suggestion's stored image "
        "prompt unless customPrompt is given; for carousels call once per slide (imageIndex 0, 1, ...). "
        "Generating a slide again replaces its image.",
        CONTENT_WRITE, "media", GenerateImageInput, GenerateImageResult, content.generate_image,
        open_world=True,
    ),
    Operation(
        "generate_video", "Generate video",
        "Start an AI video generation (500 credits, asynchronous). Returns an operationId; poll "
        "check_video_status every 10-15 seconds until status is completed.",
        CONTENT_WRITE, "media", GenerateVideoInput, VideoStartedResult, video.generate_video,
        open_world=True,
    ),
    Operation(
        "check_video_status", "Check video status",
        "Report a video generation's progress: processing, completed (with videoUrl and duration) or failed.",
        CONTENT_READ, "general", VideoInput, VideoStatusResult, video.check_video_status,
        read_only=True, idempotent=True,
    ),
    Operation(
        "post_content", "Publish content",
        "Publish a suggestion now to one or more connected accounts (targets from list_accounts). "
        "Each target reports success with its postUrl, or failed with the reason. Platform rules are "
        "checked first (e.g. Instagram needs an image, X allows 280 characters). Publishing is public "
        "and cannot be undone: confirm with the user first. With scheduledFor it schedules instead.",
        POST_WRITE, "general", PostContentInput, PostResult, publishing.post_content,
        destructive=True, open_world=True,
    ),
    Operation(
        "schedule_content", "Schedule content",
        "Schedule a suggestion to be published at scheduledFor (ISO 8601 with offset, in the future, within "
        "a year) to the given accounts. Scheduling again replaces the time and targets. Use get_optimal_time "
        "to pick a time.",
        POST_WRITE, "general", ScheduleContentInput, ScheduleResult, publishing.schedule_content,
        idempotent=True, open_world=True,
    ),
    Operation(
        "get_optimal_time", "Get optimal posting time",
        "Recommend the next best time to post for a business (optionally narrowed to some accounts), "
        "from its audience's engagement history, with a confidence from 0 to 1 and the reasoning.",
        ACCOUNTS_READ, "general", OptimalTimeInput, OptimalTimeResult, optimal_time.get_optimal_time,
        read_only=True, idempotent=True,
    ),
    Operation(
        "cancel_scheduled_post", "Cancel scheduled post",
        "Cancel a suggestion's scheduled publication. Works only while it is SCHEDULED.",
        POST_WRITE, "general", SuggestionInput, CancelResult, publishing.cancel_scheduled_post,
        destructive=True,
    ),
    Operation(
        "check_post_status", "Check post status",
        "Report a suggestion's publishing status (DRAFT, SCHEDULED, PUBLISHING, POSTED, PARTIALLY_POSTED, "
        "FAILED, CANCELLED) and each platform target's status, postUrl and error.",
        CONTENT_READ, "general", SuggestionInput, PostStatusResult, publishing.check_post_status,
        read_only=True, idempotent=True,
    ),
    Operation(
        "upload_media", "Upload media from URL",
        "Create a post from the user's own image or video at an HTTPS URL (0 credits). Images are "
        "normalised to 1080x1080 JPEG; videos are kept as they are. For CAROUSEL pass 2-10 image URLs in "
        "mediaUrls. Returns a suggestionId ready for post_content or schedule_content.",
        CONTENT_WRITE, "general", UploadMediaInput, UploadMediaResult, content.upload_media,
        open_world=True,
    ),
    Operation(
        "list_accounts", "List connected accounts",
        "List the connected social accounts (id, platform, username, followers), optionally of one business.",
        ACCOUNTS_READ, "general", ListAccountsInput, AccountsResult, catalog.list_accounts,
        read_only=True, idempotent=True,
    ),
    Operation(
        "list_businesses", "List businesses",
        "List the user's businesses (id, name, type, industry). Most other tools need a businessId from here.",
        BUSINESSES_READ, "general", NoInput, BusinessesResult, catalog.list_businesses,
        read_only=True, idempotent=True,
    ),
]}


# Offered by the REST API only: the MCP tool list is fixed at fifteen (SPEC §6), and an MCP
# client retries the same way with post_content and the failed targets.
REST_ONLY_OPERATIONS: dict[str, Operation] = {op.name: op for op in [
    Operation(
        "retry_failed_targets", "Retry failed targets",
        "Publish again, now, only the targets of a suggestion whose publishing failed (e.g. after "
        "PARTIALLY_POSTED); targets that succeeded are left alone.",
        POST_WRITE, "general", SuggestionInput, PostResult, publishing.retry_failed_targets,
        destructive=True, open_world=True,
    ),
]}


async def invoke(
    core: Core, limiter: RateLimiter, operation: Operation, caller: Caller, arguments: Any
) -> tuple[Output, RateLimitStatus]:
    """Check the scope, parse, count the call against the caller's budget, run.

    A call refused for its scope or its arguments does not spend the budget (a typo
    should not cost one of ten hourly generations), but still reports it. Any
    ``FluxError`` carries the budget (``rate_limit``), so error responses show it too.
    """
    try:
        caller.require_scope(operation.scope)
        request = parse_input(operation.input, arguments)
    except FluxError as exc:
        exc.rate_limit = await limiter.peek(caller, operation.bucket)
        raise
    status = await limiter.consume(caller, operation.bucket)
    try:
        return await operation.run(core, caller, request), status
    except FluxError as exc:
        exc.rate_limit = status
        raise
