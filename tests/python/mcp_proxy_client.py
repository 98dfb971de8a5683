"""Drive `gate mcp proxy -- python3 mcp_upstream.py` with the official MCP
Python SDK as the client. Prints one JSON object with what came back; the Rust
test (tests/it/mcp_proxy.rs) asserts on it.

usage: mcp_proxy_client.py GATE_BINARY UPSTREAM_SCRIPT WORKDIR SCENARIO [NAME]
(environment: GATE_HOME, GATE_POLICY, MCP_UPSTREAM_LOG; GATE_SERVER and
GATE_SERVER_KEY for `approve`; with MCP_UPSTREAM_URL, gate relays to that
Streamable HTTP server instead of starting UPSTREAM_SCRIPT)

Scenarios:
  calls    list the tools, call echo, delete_repo on a scratch and a prod repo
  approve  call delete_repo on a scratch repo (the test approves it meanwhile)
  crash    call echo, then crash (the server exits without answering)
  cancel   call delete_repo on a scratch repo and give up after 4 seconds (the
           SDK sends notifications/cancelled), then call echo
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text_of(result):
    return "".join(part.text for part in result.content if getattr(part, "type", "") == "text")


def shown(result):
    return {"error": result.is_error, "text": text_of(result)}


async def scenario(session, name):
    if name == "calls":
        tools = await session.list_tools()
        echo = await session.call_tool("echo", {"text": "hello"})
        scratch = await session.call_tool("delete_repo", {"repo": "scratch"})
        prod = await session.call_tool("delete_repo", {"repo": "prod-db"})
        return {
            "tools": sorted(tool.name for tool in tools.tools),
            "echo": shown(echo),
            "scratch": shown(scratch),
            "prod": shown(prod),
        }
    if name == "approve":
        return {"approved": shown(await session.call_tool("delete_repo", {"repo": "scratch"}))}
    if name == "crash":
        echo = await session.call_tool("echo", {"text": "before"})
        try:
            crashed = await session.call_tool("crash", {"code": 3})
            return {"echo": shown(echo), "crash": shown(crashed)}
        except Exception as error:  # the SDK raises the JSON-RPC error
            return {"echo": shown(echo), "crash_error": str(error)}
    if name == "cancel":
        try:
            await session.call_tool("delete_repo", {"repo": "scratch"}, read_timeout_seconds=4)
            return {"gave_up": False}
        except Exception as error:  # the SDK's timeout
            gave_up = str(error)
        return {"gave_up": gave_up, "echo": shown(await session.call_tool("echo", {"text": "after"}))}
    raise SystemExit(f"unknown scenario {name}")


async def main(gate, upstream, workdir, name, server_name=None):
    named = ["--name", server_name] if server_name else []
    url = os.environ.get("MCP_UPSTREAM_URL")
    target = ["--url", url] if url else ["--", sys.executable, upstream]
    params = StdioServerParameters(
        command=gate,
        args=["mcp", "proxy", *named, *target],
        env=dict(os.environ),
        cwd=workdir,
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            seen = await scenario(session, name)
            seen["server"] = init.server_info.name
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
