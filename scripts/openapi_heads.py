#!/usr/bin/env python3
"""Writes the `head` twin of every `get` operation of docs/openapi.json.

The server answers HEAD wherever it answers GET (the GET route runs, its gate included, and the
body is dropped: docs/service.md, "HEAD, CORS, pagination"), so each GET operation gets a HEAD
operation with the same parameters, tags, roles and statuses, whose answers document the GET
answer's headers and no body. Run it after changing a GET operation:

    python3 scripts/openapi_heads.py          # rewrites docs/openapi.json
    python3 scripts/openapi_heads.py --check  # exit 1 when the file is not up to date

service_openapi_test checks the same correspondence from C++.
"""
import copy
import json
import pathlib
import sys

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
RESPONSES = "#/components/responses/"
CONTENT_LENGTH = {
    "description": "the length of the body the GET answer has (none is sent)",
    "schema": {"type": "integer", "minimum": 0},
}


def head_response(response, components):
    """The HEAD form of a GET answer: its description and headers, no content."""
    if "$ref" in response:
        name = response["$ref"][len(RESPONSES):]
        head_name = "Head" + name
        source = components[name]
        components[head_name] = {
            "description": source["description"] + " (HEAD: this answer's header, no body)",
            **({"headers": copy.deepcopy(source["headers"])} if "headers" in source else {}),
        }
        return {"$ref": RESPONSES + head_name}
    out = {"description": response["description"]}
    headers = copy.deepcopy(response.get("headers", {}))
    if "content" in response:
        headers["Content-Length"] = copy.deepcopy(CONTENT_LENGTH)
    if headers:
        out["headers"] = headers
    return out


def head_operation(get, components):
    op_id = get["operationId"]
    head = {
        "summary": "Header only: " + get["summary"][0].lower() + get["summary"][1:],
        "description": (f"HEAD of {op_id}: the same gate, parameters and statuses; the GET "
                        "answer's header (Content-Length included) without its body. "
                        + get.get("description", "")).strip(),
        "operationId": "head" + op_id[0].upper() + op_id[1:],
        "tags": copy.deepcopy(get["tags"]),
    }
    if "parameters" in get:
        head["parameters"] = copy.deepcopy(get["parameters"])
    head["responses"] = {status: head_response(r, components)
                         for status, r in get["responses"].items()}
    for key in ("x-skintrack-roles", "security"):
        head[key] = copy.deepcopy(get[key])
    return head


def with_heads(doc):
    doc = copy.deepcopy(doc)
    components = doc["components"]["responses"]
    for name in [n for n in components if n.startswith("Head")]:
        del components[name]
    for path, item in doc["paths"].items():
        rebuilt = {}
        for method, op in item.items():
            if method == "head":
                continue
            rebuilt[method] = op
            if method == "get":
                rebuilt["head"] = head_operation(op, components)
        doc["paths"][path] = rebuilt
    return doc


def main():
    text = DOC.read_text(encoding="utf-8")
    updated = json.dumps(with_heads(json.loads(text)), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if updated != text:
            print(f"{DOC}: HEAD operations out of date; run python3 scripts/openapi_heads.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
