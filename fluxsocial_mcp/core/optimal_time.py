"""The best time to post: the business's own engagement history, shrunk toward a per-platform prior.

The history is our posting history plus, for accounts on real platforms, the engagement
their platform's insights report (``platforms.insights``).

Each (weekday, hour) slot, in the business's timezone, scores the mean
engagement of the past posts made in it, blended with the platform prior
weighted as ``PRIOR_WEIGHT`` posts — so three good posts on a Monday night do
not outvote a well-known pattern, but a real history does. The prior encodes
the widely published engagement patterns of each platform (weekday late
mornings for Instagram and Facebook, weekday business hours for LinkedIn and X,
evenings for TikTok); without any history it is the whole answer, and the
confidence says so.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from ..errors import NotFound
from ..models import EngagementSample, SocialAccount
from ..platforms.insights import sync_engagement
from .caller import Caller
from .catalog import owned_business
from .schemas import OptimalTimeData, OptimalTimeInput, OptimalTimeResult, format_time
from .service import Core

PRIOR_WEIGHT = 3.0
MIN_LEAD = timedelta(minutes=15)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Hours (local) of peak engagement per platform, and the weekdays (0 = Monday) they hold best on.
PRIOR_PEAKS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "instagram": ((11, 12, 19), (1, 2, 3)),
    "facebook": ((9, 12, 13), (1, 2, 3, 4)),
    "tiktok": ((19, 20, 21), (1, 3, 4)),
    "linkedin": ((8, 9, 12), (1, 2, 3)),
    "x": ((8, 9, 12), (1, 2, 3)),
    "threads": ((7, 8, 12), (1, 2, 3)),
}


def prior(platform: str, weekday: int, hour: int) -> float:
    """A 0..1 engagement prior for posting on ``platform`` at local ``weekday``/``hour``."""
    hours, days = PRIOR_PEAKS.get(platform, PRIOR_PEAKS["instagram"])
    distance = min(abs(hour - peak) for peak in hours)
    by_hour = max(0.1, 1.0 - 0.25 * distance)
    by_day = 1.0 if weekday in days else (0.85 if weekday < 5 else 0.7)
    if hour < 6:
        by_hour *= 0.3
    return by_hour * by_day


def _part_of_day(hour: int) -> str:
    if hour < 5:
        return "nights"
    if hour < 12:
        return "mornings"
    if hour < 17:
        return "afternoons"
    if hour < 21:
        return "evenings"
    return "nights"


def next_slot(now: datetime, zone: ZoneInfo, weekday: int, hour: int) -> datetime:
    """The first future instant that reads ``weekday`` at ``hour``:00 on the local clock.

    A slot inside a daylight-saving gap (the local hour does not exist that
    day) is skipped to the next week rather than silently shifted.
    """
    local_now = now.astimezone(zone)
    day = local_now.date()
    for offset in range(0, 15):
        candidate_day = day + timedelta(days=offset)
        if candidate_day.weekday() != weekday:
            continue
        naive = datetime(candidate_day.year, candidate_day.month, candidate_day.day, hour)
        local = naive.replace(tzinfo=zone)
        if local.astimezone(ZoneInfo("UTC")).astimezone(zone).hour != hour:
            continue
        if local - now >= MIN_LEAD:
            return local
    raise AssertionError("a weekly slot always recurs within 15 days")


async def get_optimal_time(core: Core, caller: Caller, request: OptimalTimeInput) -> OptimalTimeResult:
    async with core.db.transaction() as session:
        business = await owned_business(session, caller, request.business_id)
        accounts = list(await session.scalars(
            select(SocialAccount).where(SocialAccount.business_id == business.id, SocialAccount.user_id == caller.user_id)
        ))
        if request.account_ids:
            known = {a.id: a for a in accounts}
            for account_id in request.account_ids:
                if account_id not in known:
                    raise NotFound(f"Account {account_id} not found in business {business.id}")
            accounts = [known[a] for a in dict.fromkeys(request.account_ids)]
    # Platform insights join our own history (accounts on real platforms, at most every few hours).
    await sync_engagement(core.db, core.publishers, accounts, core.now())
    async with core.db.transaction() as session:
        samples = list((await session.execute(
            select(EngagementSample.posted_at, EngagementSample.engagement_rate, SocialAccount.platform)
            .join(SocialAccount, SocialAccount.id == EngagementSample.account_id)
            .where(EngagementSample.account_id.in_([a.id for a in accounts]))
        )).all()) if accounts else []

    try:
        zone = ZoneInfo(business.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    connected = sorted({a.platform for a in accounts})
    # With no account connected yet, the Instagram prior stands for a general social audience.
    platforms = connected or ["instagram"]

    observed: dict[tuple[int, int], list[float]] = defaultdict(list)
    for posted_at, rate, _platform in samples:
        local = posted_at.astimezone(zone)
        observed[(local.weekday(), local.hour)].append(rate)
    overall = sum(r for _, r, _ in samples) / len(samples) if samples else 1.0

    def score(slot: tuple[int, int]) -> float:
        weekday, hour = slot
        base = sum(prior(p, weekday, hour) for p in platforms) / len(platforms)
        # The prior speaks in the units of this audience's own engagement.
        expected = base * overall
        rates = observed.get(slot, [])
        return (sum(rates) + PRIOR_WEIGHT * expected) / (len(rates) + PRIOR_WEIGHT)

    slots = [(d, h) for d in range(7) for h in range(24)]
    ranked = sorted(slots, key=lambda s: (-score(s), s))
    best = ranked[0]
    when = next_slot(core.now(), zone, *best)

    n = len(samples)
    margin = (score(best) - score(ranked[1])) / score(best) if score(best) > 0 else 0.0
    confidence = 0.3 + 0.6 * n / (n + 30) + min(0.05, margin)
    weekday, hour = best
    window = f"{hour:02d}:00-{(hour + 1) % 24:02d}:00 {zone.key}"
    if n:
        in_slot = len(observed.get(best, []))
        reasoning = (
            f"Highest engagement for your audience on {DAYS[weekday]} {_part_of_day(hour)} ({window}), "
            f"from {n} past posts across {len({a.id for a in accounts})} account(s)"
            + (f", {in_slot} of them in this slot" if in_slot else "")
        )
    else:
        reasoning = (
            f"No engagement history yet: {DAYS[weekday]} {_part_of_day(hour)} ({window}) is when "
            f"{', '.join(connected) if connected else 'social media'} audiences typically engage most"
        )
    return OptimalTimeResult(
        success=True,
        data=OptimalTimeData(
            scheduled_date_time=format_time(when), confidence=round(min(confidence, 0.95), 2), reasoning=reasoning
        ),
    )
