"""``GET /api/live``: server-sent events with the newest values and equipment states."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

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
            '`{"ts": ..., "values": {path: [ts, value, quality]}, "states": {equipment: state}}`.'
            " The first holds every signal and state, later ones only what changed, at most two"
            " a second. It spans the whole plant, so a grant limited to part of it is refused."
        ),
        dependencies=[require("plant.read", scoped=True)],
    )
    async def live() -> StreamingResponse:
        return StreamingResponse(
            feed.stream(),
            media_type="text/event-stream",
            # Proxies must pass each event on at once rather than buffer the stream.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return api
