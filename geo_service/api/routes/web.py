"""The map pages and their files: web/src as /static, the front-end libraries npm installed
under web/node_modules as /vendor (nothing is fetched from outside)."""

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from geo_service.settings import Settings

VENDOR = {
    "leaflet": "leaflet/dist",
    "leaflet.vectorgrid": "leaflet.vectorgrid/dist",
}


def install(app: FastAPI, settings: Settings) -> None:
    pages = settings.web_dir / "src"
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def workspace() -> FileResponse:
        return FileResponse(pages / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/login")
    async def login() -> FileResponse:
        return FileResponse(pages / "login.html", headers={"Cache-Control": "no-cache"})

    @router.get("/wall")
    async def wall() -> FileResponse:
        return FileResponse(pages / "wall.html", headers={"Cache-Control": "no-cache"})

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=pages, check_dir=False), name="static")
    for name, folder in VENDOR.items():
        directory = settings.web_dir / "node_modules" / folder
        app.mount(f"/vendor/{name}", StaticFiles(directory=directory, check_dir=False))
