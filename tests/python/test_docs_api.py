"""docs/api.md is what scripts/generate_api_docs.py makes of proto/bertfleet/v1/*.proto."""
import re
import subprocess
import sys

from conftest import SOURCE_DIR


def test_api_doc_is_current():
    result = subprocess.run([sys.executable, str(SOURCE_DIR / "scripts" / "generate_api_docs.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rpc_and_message_is_documented():
    protos = "".join(p.read_text() for p in (SOURCE_DIR / "proto" / "bertfleet" / "v1").glob("*.proto"))
    doc = (SOURCE_DIR / "docs" / "api.md").read_text()
    rpcs = re.findall(r"^\s*rpc\s+(\w+)", protos, re.M)
    messages = re.findall(r"^\s*(?:message|enum|service)\s+(\w+)", protos, re.M)
    assert rpcs and messages
    for rpc in rpcs:
        assert re.search(rf"^\| `{rpc}` \|", doc, re.M), f"rpc {rpc} missing from docs/api.md"
    for name in messages:
        assert re.search(rf"^### \w+ `([\w.]+\.)?{name}`", doc, re.M), f"{name} missing from docs/api.md"
