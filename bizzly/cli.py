"""``bizzly``: serve, worker, scheduler, migrate, demo (and later chat)."""

from __future__ import annotations

import typer

from bizzly.settings import get_settings

# Plain help (rich_markup_mode=None): Typer's rich help labels every option with a type placeholder,
# ``<str>`` beside a value and ``<bool>`` beside ``--help`` itself; metavars name what a value is.
app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, help="Bizzly backend")


@app.command()
def migrate() -> None:
    """Create the database roles (PostgreSQL) and apply every migration."""
    from bizzly.migrate import migrate as run

    run(get_settings())
    typer.echo("migrated")


@app.command()
def serve(
    host: str | None = None,
    port: int | None = None,
    workers: int | None = typer.Option(
        None,
        help="Web processes, each with its own database pool (default: one per core with a shared "
        "broker; 1 on the embedded memory:// broker).",
    ),
) -> None:
    """Run the web server (on the embedded default, workers, relay and scheduler run inside it)."""
    import uvicorn

    from bizzly.serving import WebWorkersError, web_workers

    settings = get_settings()
    settings.check_production()
    try:
        processes = web_workers(settings, workers)
    except WebWorkersError as exc:
        raise typer.BadParameter(str(exc), param_hint="--workers") from exc
    uvicorn.run(
        "bizzly.app:create_app",
        factory=True,
        host=host or settings.host,
        port=settings.port if port is None else port,
        log_config=None,
        # Our middleware writes the access log (uvicorn's would print query strings).
        access_log=False,
        proxy_headers=True,
        # uvicorn's supervisor forks the processes and replaces one that dies; 1 runs in this process.
        workers=processes,
    )


@app.command()
def worker(threads: int = typer.Option(4, min=1, help="Rows processed at once by this process.")) -> None:
    """Run a worker process: consume the outbox queue and relay due rows (redis:// or amqp:// broker)."""
    from bizzly.wiring import build_mailer, import_handlers
    from workers.commands import EmbeddedBrokerError, run_worker

    settings = get_settings()
    settings.check_production()
    import_handlers()
    try:
        run_worker(settings, threads=threads, mailer_factory=build_mailer)
    except EmbeddedBrokerError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def scheduler() -> None:
    """Run the scheduler: fire periodic jobs once per tick under a database lease (redis:// or amqp://)."""
    from bizzly.wiring import build_mailer, import_handlers
    from workers.commands import EmbeddedBrokerError, run_scheduler

    settings = get_settings()
    settings.check_production()
    import_handlers()
    try:
        run_scheduler(settings, mailer_factory=build_mailer)
    except EmbeddedBrokerError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def demo() -> None:
    """Seed a demo business (services, hours, help articles, a plan, customers, bookings) and print how to
    log in. Running it again changes nothing."""
    import asyncio

    from bizzly.demo import instructions, seed
    from bizzly.migrate import migrate as run_migrations

    settings = get_settings()
    run_migrations(settings)
    typer.echo(instructions(asyncio.run(seed(settings)), settings))


@app.command("chat")
def chat_command(
    tenant: str = typer.Option(..., metavar="SLUG", help="The business's slug."),
    phone: str = typer.Option(
        ...,
        metavar="PHONE",
        help="The customer's number: international (+44 7700 900123) or as the business's region writes it.",
    ),
) -> None:
    """Talk to a business's assistant as a WhatsApp customer: one message per line of stdin, replies printed
    (verification codes included: the terminal is the customer's phone). Ends at end of input."""
    import asyncio
    import sys

    from bizzly.chat import chat
    from domain.identity.phones import InvalidPhone

    settings = get_settings()
    lines, echo = sys.stdin, not sys.stdin.isatty()
    try:
        asyncio.run(chat(settings, slug=tenant, phone=phone, lines=lines, out=typer.echo, echo=echo))
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tenant") from exc
    except InvalidPhone as exc:
        raise typer.BadParameter(exc.message, param_hint="--phone") from exc


def main() -> None:
    from bizzly.logs import configure_logging

    configure_logging(get_settings().log_level)
    app()
