"""Demo incidents reported as they happen, through the public API: a few a minute, each a
plausible incident of the scenario detected minutes before it is sent."""

import asyncio
import logging
import os
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np

from geo_service.geo.reference import load_geography
from geo_service.services.demo import sample
from geo_service.services.scenarios import load_scenario
from geo_service.settings import Settings

log = logging.getLogger(__name__)


async def _pause(seconds: float, parent: int | None) -> bool:
    """Wait `seconds`; False as soon as the process that started this one is gone."""
    waited = 0.0
    while waited < seconds:
        if parent is not None and os.getppid() != parent:
            return False
        await asyncio.sleep(min(1.0, seconds - waited))
        waited += 1.0
    return parent is None or os.getppid() == parent


async def run(
    url: str,
    settings: Settings,
    scenario_name: str,
    keys: dict[str, str],
    *,
    seed: int,
    per_minute: float,
    count: int,
    with_parent: bool = False,
) -> int:
    """POST incidents to `url` until `count` are accepted (0: until stopped, or with
    `with_parent` until the process that started this one ends), each with the API key in
    `keys` of its reporting agency (an officer's)."""
    parent = os.getppid() if with_parent else None
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
            key = keys.get(feature["properties"]["agency"])
            if key is None:
                continue  # no officer of that agency reports here
            try:
                response = await client.post(
                    "/api/v1/incidents", json=feature, headers={"Authorization": f"Bearer {key}"}
                )
            except httpx.TransportError as exc:
                log.warning("demo live: %s; trying again", exc)
                if not await _pause(2, parent):
                    break
                continue
            if response.status_code in (200, 201):
                sent += 1
            elif response.status_code >= 500:
                if not await _pause(2, parent):
                    break
                continue
            else:
                log.warning("demo live: refused %s: %s", response.status_code, response.text)
            more = count == 0 or sent < count
            if more and not await _pause(float(rng.exponential(60.0 / per_minute)), parent):
                break
    return sent
