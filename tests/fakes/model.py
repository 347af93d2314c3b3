"""A fake OpenAI-compatible model: a real HTTP server on 127.0.0.1 (an ephemeral port).

    async with running_model_fake() as model:
        model.script(tool_call("list_services", {}))   # the next answer(s), in order
        model.requests                                 # every request body, with its Authorization header

``POST /v1/chat/completions`` answers like OpenAI's chat completions: a ``tool_calls`` message for a
scripted tool call, plain content otherwise. It can be scripted to misbehave: an HTTP error, a body that
is not JSON, arguments that are not JSON, a slow answer (``Answer(delay=)``), or -- ``model.hang = True`` --
no answer at all: every request then waits until the server stops. A wrong API key gets OpenAI's 401.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

API_KEY = "sk-test-fake-model-key"


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a tool call (``name`` + raw ``arguments`` text), plain ``content``, an HTTP
    ``status`` error, ``garbage`` (not JSON), a ``delay`` first, or ``trickle`` seconds of one blank a
    tenth of a second before the body (each read is quick, the whole answer is not)."""

    name: str | None = None
    arguments: str = "{}"
    content: str | None = None
    status: int = 200
    garbage: bool = False
    delay: float = 0.0
    trickle: float = 0.0


def tool_call(name: str, arguments: dict[str, Any]) -> Answer:
    return Answer(name=name, arguments=json.dumps(arguments))


@dataclass
class ModelFake:
    url: str = ""
    api_key: str = API_KEY
    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    # Never answer: a dead model that still accepts connections (each request waits until shutdown).
    hang: bool = False
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def script(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"authorization": request.headers.get("authorization"), "body": body})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse(
                {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}},
                status_code=401,
            )
        if self.hang:
            await self.stopping.wait()
            return JSONResponse({"error": {"message": "shutting down"}}, status_code=503)
        answer = self.answers.pop(0) if self.answers else Answer(content="How can I help?")
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.status != 200:
            return JSONResponse(
                {"error": {"message": "The server had an error.", "type": "server_error"}},
                status_code=answer.status,
            )
        if answer.garbage:
            return PlainTextResponse("<html>upstream error</html>")
        message: dict[str, Any] = {"role": "assistant", "content": answer.content}
        finish = "stop"
        if answer.name is not None:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}",
                    "type": "function",
                    "function": {"name": answer.name, "arguments": answer.arguments},
                }
            ]
            finish = "tool_calls"
        completion = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        if answer.trickle:
            return StreamingResponse(_trickled(answer.trickle, completion), media_type="application/json")
        return JSONResponse(completion)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])


async def _trickled(seconds: float, completion: dict[str, Any]) -> AsyncIterator[bytes]:
    for _ in range(max(1, round(seconds * 10))):
        yield b" "
        await asyncio.sleep(0.1)
    yield json.dumps(completion).encode()


@asynccontextmanager
async def running_model_fake() -> AsyncIterator[ModelFake]:
    """Serve the fake in the current event loop on 127.0.0.1 and an ephemeral port."""
    fake = ModelFake()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake.app(), log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.should_exit = True
        await task
        sock.close()
