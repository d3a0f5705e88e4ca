#!/usr/bin/env python3
"""Size limits of docs/architecture.md ("Sizes"): files of apps/ at most 300 lines, library files
(src/) at most 600, function bodies at most 80 lines. Files and functions over the limit are
listed in scripts/sizes_allowed.json with why; anything else over it fails (exit 1), and an
allowance that is no longer needed fails too, so the list only shrinks.

Functions are found the way clang-format lays them out here: a definition starts at column 0
(namespaces are not indented) with its signature, its opening brace ends that line or a line of
the signature, and it ends at the next line that is exactly "}". Lambdas and member functions
defined in a class body are part of the function or class around them.

Usage: check_sizes.py [--root DIR] [--list]   (--list prints every file and function measured)
"""
import argparse
import json
import os
import re
import sys

APP_LIMIT, LIB_LIMIT, FUNCTION_LIMIT = 300, 600, 80
EXTS = (".cc", ".h")
NOT_FUNCTION = re.compile(r"^(namespace|struct|class|enum|union|extern|template\s*<[^>]*>\s*(struct|class)|#|//|/\*|\}|using|typedef)")


def functions(path):
    """(first line, line count, name) of each function defined at column 0."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line and not line[0].isspace() and not NOT_FUNCTION.match(line) and "(" in line:
            # The signature may span lines; the body opens with "{" at the end of one of them.
            j = i
            while j < len(lines) and j < i + 12:
                text = lines[j].rstrip()
                if text.endswith(";") and not text.endswith("{"):
                    j = -1
                    break
                if text.endswith("{"):
                    break
                j += 1
            if j != -1 and j < len(lines) and lines[j].rstrip().endswith("{"):
                if lines[j].rstrip().endswith("{}"):
                    i = j + 1
                    continue
                k = j + 1
                while k < len(lines) and lines[k] != "}":
                    k += 1
                name = re.sub(r"\s*\(.*", "", line).split()[-1] if line.split() else line
                out.append((i + 1, k - i + 1, name))
                i = k + 1
                continue
        i += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    try:
        with open(os.path.join(root, "scripts", "sizes_allowed.json"), encoding="utf-8") as f:
            allowed = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_sizes: cannot use scripts/sizes_allowed.json: {e}", file=sys.stderr)
        return 2
    allowed_files = {e["file"]: e for e in allowed.get("files", [])}
    allowed_functions = {(e["file"], e["function"]): e for e in allowed.get("functions", [])}
    used = set()
    problems = []
    for top in ("src", "apps"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if not n.endswith(EXTS):
                    continue
                path = os.path.join(dirpath, n)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as f:
                    count = f.read().count("\n")
                limit = APP_LIMIT if top == "apps" else LIB_LIMIT
                if args.list:
                    print(f"{count:6d} {rel}")
                if count > limit:
                    if rel in allowed_files and count <= allowed_files[rel]["max_lines"]:
                        used.add(("file", rel))
                    else:
                        problems.append(f"{rel}: {count} lines, over the limit of {limit} for {top}/")
                if n.endswith(".cc"):
                    for line, length, name in functions(path):
                        if args.list:
                            print(f"{length:6d} {rel}:{line} {name}")
                        if length > FUNCTION_LIMIT:
                            key = (rel, name)
                            if key in allowed_functions and length <= allowed_functions[key]["max_lines"]:
                                used.add(("function",) + key)
                            else:
                                problems.append(f"{rel}:{line}: function {name} is {length} lines, "
                                                f"over the limit of {FUNCTION_LIMIT}")
    for rel in allowed_files:
        if ("file", rel) not in used:
            problems.append(f"scripts/sizes_allowed.json: {rel} is within its limit now (or gone): "
                            f"remove its allowance")
    for key in allowed_functions:
        if ("function",) + key not in used:
            problems.append(f"scripts/sizes_allowed.json: {key[0]} {key[1]} is within the limit now "
                            f"(or gone): remove its allowance")
    for p in problems:
        print(p)
    if problems:
        print(f"check_sizes: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_sizes: ok ({len(used)} allowance(s) in scripts/sizes_allowed.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
