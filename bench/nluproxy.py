"""A tiny timing proxy in front of Rasa: how long each /model/parse took inside Rasa.

    python -m bench.nluproxy --listen 5100 --upstream http://127.0.0.1:5005 --log parse.jsonl

With ``--upstream stub`` it answers itself (GET /status, POST /model/parse with a fixed
intent): a zero-cost NLU for smoke tests. Otherwise it forwards every request unchanged;
for /model/parse it writes one JSON line
{"text", "t_in", "seconds"} (seconds = upstream round trip on loopback, i.e. the time
inside /model/parse plus one loopback hop).
"""

from __future__ import annotations

import argparse
import json
import time

import aiohttp
from aiohttp import web

STUB_PARSE = {
    "intent": {"name": "wage_unpaid", "confidence": 0.93},
    "intent_ranking": [
        {"name": "wage_unpaid", "confidence": 0.93},
        {"name": "wage_minimum", "confidence": 0.04},
    ],
}


def stub(request: web.Request) -> web.Response:
    if request.path == "/model/parse":
        return web.json_response(STUB_PARSE)
    return web.json_response({"model_file": "stub"})


def make_app(upstream: str, log_path: str) -> web.Application:
    app = web.Application()
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    holder: dict[str, aiohttp.ClientSession] = {}

    async def startup(_app: web.Application) -> None:
        if upstream == "stub":
            return
        holder["http"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30)
        )

    async def cleanup(_app: web.Application) -> None:
        if "http" in holder:
            await holder["http"].close()
        log.close()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        if upstream == "stub":
            return stub(request)
        t_in = time.time()
        started = time.perf_counter()
        async with holder["http"].request(
            request.method,
            upstream + request.path_qs,
            data=body or None,
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        ) as resp:
            data = await resp.read()
            status = resp.status
        seconds = time.perf_counter() - started
        if request.path == "/model/parse":
            try:
                text = json.loads(body).get("text", "")
            except ValueError:
                text = ""
            log.write(json.dumps({"text": text, "t_in": t_in, "seconds": seconds}) + "\n")
        return web.Response(body=data, status=status, content_type="application/json")

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    web.run_app(
        make_app(args.upstream.rstrip("/"), args.log),
        host="127.0.0.1",
        port=args.listen,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
