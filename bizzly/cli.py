"""``bizzly``: serve, worker, scheduler, migrate (and later demo, chat)."""

from __future__ import annotations

import typer

from bizzly.settings import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Bizzly backend")


@app.command()
def migrate() -> None:
    """Create the database roles (PostgreSQL) and apply every migration."""
    from bizzly.migrate import migrate as run

    run(get_settings())
    typer.echo("migrated")


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the web server (on the embedded default, workers, relay and scheduler run inside it)."""
    import uvicorn

    settings = get_settings()
    settings.check_production()
    uvicorn.run(
        "bizzly.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=True,
    )


def main() -> None:
    app()
