"""`python -m sandbox --port 8081`: a standalone local Bot API server for manual runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from sandbox.limits import FloodLimits
from sandbox.server import SandboxConfig, SandboxServer


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--bot", default="sandbox_bot", help="username of the bot to create")
    parser.add_argument("--token", default=None, help="fixed token (default: random)")
    parser.add_argument("--no-flood-limits", action="store_true")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    config = SandboxConfig(
        host=args.host, port=args.port, flood=FloodLimits(enabled=not args.no_flood_limits)
    )
    server = SandboxServer(config)
    root = await server.start()
    token = server.create_bot(username=args.bot, token=args.token)
    print(f"Bot API root: {root}", flush=True)
    print(f"bot token:    {token}", flush=True)
    print(f"base_url:     {server.base_url}    base_file_url: {server.base_file_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(_parse(argv)))


if __name__ == "__main__":
    main()
