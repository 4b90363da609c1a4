"""``GET /api/live``: server-sent events with the newest values and equipment states."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from smartfab.platform.security.roles import Principal
from smartfab.web.auth import require
from smartfab.web.live import LiveFeed


def router(feed: LiveFeed) -> APIRouter:
    api = APIRouter(tags=["live"])

    @api.get(
        "/live",
        response_class=StreamingResponse,
        summary="Live values and states (server-sent events)",
        description=(
            "A `text/event-stream` of `update` events, JSON "
            '`{"ts": ..., "values": {path: [ts, value, quality]}, "states": {equipment: state}}`;'
            " a value is a number (an enum's code), a text or a list of numbers, as the signal's"
            " kind. The first holds every signal and state, later ones only what changed, at"
            " most two a second. Only those at or below `under`, when given; a grant limited to"
            " part of the plant receives that part only."
        ),
    )
    async def live(
        who: Annotated[Principal, require("plant.read")],
        under: Annotated[str | None, Query(description="Asset path")] = None,
    ) -> StreamingResponse:
        # The scope check has refused an ``under`` outside the caller's part of the plant.
        return StreamingResponse(
            feed.stream(under or who.scope or None),
            media_type="text/event-stream",
            # Proxies must pass each event on at once rather than buffer the stream.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return api
