"""Bot API calls over aiohttp (already a dependency: the sandbox, the public page).

python-telegram-bot's default HTTPXRequest costs several times more CPU per call once
more than one call is in flight: httpcore's pool re-examines every connection (a poll()
syscall each) whenever any request starts or ends. aiohttp's connector does not, so the
bot can keep many calls in flight cheaply. httpx stays in use where aiohttp cannot go: a
SOCKS proxy (see bot.app).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(self, *, connections: int, proxy: str | None = None,
                 connect_timeout: float = 10.0, read_timeout: float | None = 15.0,
                 media_read_timeout: float = 60.0) -> None:
        if proxy is not None and not proxy.startswith(("http://", "https://")):
            raise ValueError("AiohttpRequest takes an HTTP proxy only (SOCKS: HTTPXRequest)")
        self._connections = connections
        self._proxy = proxy
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._media_read_timeout = media_read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        params = request_data.json_parameters if request_data else {}
        read = (self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout)
        if files and isinstance(read_timeout, DefaultValue):
            read = self._media_read_timeout  # uploads: the answer comes after the upload
        connect = (self._connect_timeout if isinstance(connect_timeout, DefaultValue)
                   else connect_timeout)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        data: Any = None
        if files:
            form = aiohttp.FormData(quote_fields=False)  # UTF-8 file names, as Telegram shows them
            for name, value in params.items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        elif params:
            data = params  # form-encoded, as HTTPXRequest sends them
        try:
            async with session.request(method, url, data=data, timeout=timeout,
                                       proxy=self._proxy) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
