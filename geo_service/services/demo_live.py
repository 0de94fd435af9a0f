"""Demo incidents reported as they happen, through the public API: a few a minute, each a
plausible incident of the scenario detected minutes before it is sent."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np

from geo_service.geo.reference import load_geography
from geo_service.services.demo import sample
from geo_service.services.scenarios import load_scenario
from geo_service.settings import Settings

log = logging.getLogger(__name__)


async def run(
    url: str, settings: Settings, scenario_name: str, *, seed: int, per_minute: float, count: int
) -> int:
    """POST incidents to `url` until `count` are accepted (0: until stopped)."""
    geo = load_geography(settings.borders_dir)
    scenario = load_scenario(settings.scenarios_dir, scenario_name)
    rng = np.random.default_rng(seed)
    started = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    sent = 0
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while count == 0 or sent < count:
            now = datetime.now(UTC)
            feature = sample(geo, scenario, now - timedelta(minutes=float(rng.uniform(1, 20))), rng)
            feature["properties"]["external_ref"] = f"LIVE-{started}-{seed}-{sent:06d}"
            try:
                response = await client.post("/api/v1/incidents", json=feature)
            except httpx.TransportError as exc:
                log.warning("demo live: %s; trying again", exc)
                await asyncio.sleep(2)
                continue
            if response.status_code in (200, 201):
                sent += 1
            elif response.status_code >= 500:
                await asyncio.sleep(2)
                continue
            else:
                log.warning("demo live: refused %s: %s", response.status_code, response.text)
            if count == 0 or sent < count:
                await asyncio.sleep(float(rng.exponential(60.0 / per_minute)))
    return sent
