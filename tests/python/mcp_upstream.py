"""A small MCP server written with the official Python SDK, for testing
`gate mcp proxy` (tests/it/mcp_proxy.rs): a harmless tool (`echo`), a dangerous
one (`delete_repo`) and one that kills the server (`crash`). Each call it
receives is appended, as one JSON line, to the file $MCP_UPSTREAM_LOG, so a test
can tell which calls got through gate.

usage: mcp_upstream.py              (stdio transport)
       mcp_upstream.py --http PORT  (Streamable HTTP on 127.0.0.1:PORT/mcp)
"""

import json
import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("upstream")


def seen(tool, arguments):
    path = os.environ.get("MCP_UPSTREAM_LOG")
    if path:
        with open(path, "a") as log:
            log.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    seen("echo", {"text": text})
    return text


@server.tool()
def delete_repo(repo: str) -> str:
    """Delete a repository (pretend)."""
    seen("delete_repo", {"repo": repo})
    return f"deleted {repo}"


@server.tool()
def crash(code: int = 3) -> str:
    """Exit the server at once, without answering."""
    seen("crash", {"code": code})
    os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:
        server.run("streamable-http", port=int(sys.argv[2]))
    else:
        server.run("stdio")
