"""Drive `gate mcp` with the official MCP Python SDK (PyPI `mcp`): initialize,
list tools, call an allowed command and a denied one. Prints one JSON object
with what came back; the Rust test (tests/it/mcp.rs) asserts on it.

usage: mcp_client.py GATE_BINARY WORKDIR [approval]
(environment: GATE_HOME, GATE_POLICY; for `approval`, GATE_SERVER and GATE_SERVER_KEY)

With `approval`, only one call is made: `touch approved-file`, which the policy
sends to the broker; the result says what came back (the test lets it time out).
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text_of(result):
    return "".join(part.text for part in result.content if getattr(part, "type", "") == "text")


async def approval(gate, workdir):
    params = StdioServerParameters(command=gate, args=["mcp"], env=dict(os.environ), cwd=workdir)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            waited = await session.call_tool("run_command", {"argv": ["touch", "approved-file"], "cwd": workdir})
    print(json.dumps({"error": waited.is_error, "text": text_of(waited)}))


async def main(gate, workdir):
    params = StdioServerParameters(command=gate, args=["mcp"], env=dict(os.environ), cwd=workdir)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            allowed = await session.call_tool(
                "run_command", {"argv": ["sh", "-c", "echo hello; echo oops >&2; exit 3"], "cwd": workdir}
            )
            line = await session.call_tool("run_command", {"command": "echo from-a-line", "reason": "testing"})
            denied = await session.call_tool("run_command", {"argv": ["rm", "-rf", "nothing-here"]})
            big = await session.call_tool("run_command", {"command": "yes | head -c 100000"})
            bad = await session.call_tool("run_command", {"argv": []})
    print(
        json.dumps(
            {
                "server": init.server_info.name,
                "protocol": init.protocol_version,
                "tools": [tool.name for tool in tools.tools],
                "schema": tools.tools[0].input_schema,
                "allowed": {"error": allowed.is_error, "text": text_of(allowed),
                            "structured": allowed.structured_content},
                "line": {"error": line.is_error, "text": text_of(line)},
                "denied": {"error": denied.is_error, "text": text_of(denied)},
                "big": {"error": big.is_error, "length": len(big.structured_content["stdout"]),
                        "truncated": big.structured_content["stdout_truncated"],
                        "tail": big.structured_content["stdout"][-60:]},
                "bad": {"error": bad.is_error, "text": text_of(bad)},
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[3:] == ["approval"]:
        asyncio.run(approval(sys.argv[1], sys.argv[2]))
    else:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
