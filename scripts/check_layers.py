#!/usr/bin/env python3
"""Checks that ironseal's source tree keeps its layer map (docs/architecture.md).

The map is scripts/layers.json: which folder may use which, where OpenSSL may be included, which
headers are private to their folder, which files are the portable core, and the known violations
that are allowed for now. This script scans the #include lines of src/, apps/ and firmware/ and the
target_link_libraries() calls of src/CMakeLists.txt and apps/CMakeLists.txt, and reports every
dependency the map does not allow as

    FILE:LINE: what is included or linked: rule RULE: why, and what is allowed

Rules: layer (an upward or sideways #include), link (the same for CMake targets), portable (the
portable core or firmware/ including host code), internal-header (e.g. crypto/ossl.h outside
src/crypto), openssl (<openssl/...> outside the allowed files), openssl-link, unmapped (a folder or
target the map does not know), unresolved (a project include the check cannot place), doc (the
may-use column of docs/architecture.md differs from the map).

Exit codes: 0 no violations, 1 violations, 2 usage error or unreadable map, 3 I/O error.
Python 3 standard library only; no build needed.
"""

import argparse
import json
import os
import re
import sys

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
DOC_BEGIN = "<!-- layers:begin -->"
DOC_END = "<!-- layers:end -->"


class ConfigError(Exception):
    pass


def posix(path):
    return path.replace(os.sep, "/")


class LayerMap:
    def __init__(self, data):
        try:
            self.modules = {}
            for m in data["modules"]:
                self.modules[m["name"]] = {
                    "path": m["path"].rstrip("/"),
                    "rank": int(m["rank"]),
                    "may_use": list(m["may_use"]),
                }
            for name, m in self.modules.items():
                for used in m["may_use"]:
                    if used not in self.modules:
                        raise ConfigError(f"module {name}: may_use names unknown module {used}")
            scan = data["scan"]
            self.roots = list(scan["roots"])
            self.extensions = tuple(scan["extensions"])
            self.include_dirs = {k: list(v) for k, v in scan["include_dirs"].items()}
            self.cmake_files = list(scan["cmake_files"])
            self.portable = set(data["portable"]["files"])
            self.internal = {k: v for k, v in data["internal_headers"].items() if k != "about"}
            ossl = data["openssl"]
            self.openssl_dirs = [d.rstrip("/") + "/" for d in ossl["allowed_dirs"]]
            self.openssl_files = set(ossl["allowed_files"])
            self.openssl_link_modules = set(ossl["link_modules"])
            self.targets = {k: v for k, v in data["targets"].items() if k != "about"}
            for target, module in self.targets.items():
                if module not in self.modules:
                    raise ConfigError(f"target {target} maps to unknown module {module}")
            self.exceptions = []
            for e in data["allowed_for_now"]:
                rule = e["rule"]
                if rule in ("layer", "internal-header", "openssl"):
                    includes = e["include"]
                    if isinstance(includes, str):
                        includes = [includes]
                    for inc in includes:
                        self.exceptions.append({"rule": rule, "key": (e["file"], inc), "used": False})
                elif rule in ("link", "openssl-link"):
                    self.exceptions.append(
                        {"rule": rule, "key": (e["target"], e["dep"]), "used": False})
                else:
                    raise ConfigError(f"allowed_for_now: unknown rule {rule}")
                if not e.get("why") or not e.get("remove_when"):
                    raise ConfigError(f"allowed_for_now entry {e}: needs 'why' and 'remove_when'")
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"malformed layer map: {err!r}") from err
        # Longest path first, so a nested folder wins over its parent.
        self.by_path = sorted(self.modules.items(), key=lambda kv: -len(kv[1]["path"]))

    def module_of(self, rel):
        for name, m in self.by_path:
            if rel == m["path"] or rel.startswith(m["path"] + "/"):
                return name
        return None

    def allowed_for_now(self, rule, key):
        for e in self.exceptions:
            if e["rule"] == rule and e["key"] == key:
                e["used"] = True
                return True
        return False

    def describe_may_use(self, module):
        used = self.modules[module]["may_use"]
        return ", ".join(used) if used else "nothing but the standard library"

    def direction(self, src, dst):
        a, b = self.modules[src]["rank"], self.modules[dst]["rank"]
        if b > a:
            return f"upward: {dst} is layer {b}, {src} is layer {a}"
        if b == a:
            return f"sideways: both are layer {a}"
        return f"{dst} (layer {b}) is below {src} (layer {a}) but not in its may_use"


class Checker:
    def __init__(self, root, layer_map, doc_path):
        self.root = root
        self.map = layer_map
        self.doc_path = doc_path
        self.violations = []  # (sort key, text)

    def report(self, where, line, text):
        self.violations.append(((where, line), f"{where}:{line}: {text}"))

    # ---- includes ---------------------------------------------------------------------------

    def source_files(self):
        for top in self.map.roots:
            base = os.path.join(self.root, top)
            if not os.path.isdir(base):
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames.sort()
                for name in sorted(filenames):
                    if name.endswith(self.map.extensions):
                        yield posix(os.path.relpath(os.path.join(dirpath, name), self.root))

    def resolve(self, rel, include, quoted):
        """The repository path an include names, or None if it is not a project file."""
        candidates = []
        if quoted:
            candidates.append(posix(os.path.normpath(os.path.join(os.path.dirname(rel), include))))
        top = rel.split("/", 1)[0]
        for d in self.map.include_dirs.get(top, []):
            candidates.append(posix(os.path.normpath(os.path.join(d, include))))
        for c in candidates:
            if not c.startswith("../") and os.path.isfile(os.path.join(self.root, c)):
                return c
        # Not on disk: a quoted include whose first component names a library folder is taken as
        # that folder's file (what the compiler would find in src/ once it exists). Fail closed.
        first = include.split("/", 1)[0]
        if quoted and "/" in include and self.map.modules.get(first, {}).get("path") == "src/" + first:
            return posix(os.path.normpath("src/" + include))
        return None

    def check_includes(self):
        for rel in self.source_files():
            module = self.map.module_of(rel)
            if module is None:
                self.report(rel, 1, f"file in no module: rule unmapped: add its folder to "
                                    f"scripts/layers.json (modules) and docs/architecture.md")
            try:
                with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
                    lines = f.readlines()
            except OSError as err:
                raise IOError(f"{rel}: {err.strerror}") from err
            for number, line in enumerate(lines, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                quoted = m.group(1) == '"'
                include = m.group(2).strip()
                if include.startswith("openssl/"):
                    self.check_openssl(rel, number, include)
                    continue
                target = self.resolve(rel, include, quoted)
                if target is None:
                    if quoted:
                        self.report(rel, number, f'includes "{include}": rule unresolved: not a '
                                                 f"file of this tree; the check cannot place it")
                    continue
                if module is not None:
                    self.check_include(rel, number, module, include, target)

    def check_include(self, rel, number, module, include, target):
        dst = self.map.module_of(target)
        shown = f'includes "{include}" ({target})'
        if dst is None:
            self.report(rel, number, f"{shown}: rule unmapped: the included file is in no module")
            return
        if dst != module and dst not in self.map.modules[module]["may_use"]:
            if not self.map.allowed_for_now("layer", (rel, include)):
                self.report(rel, number,
                            f"{shown}: rule layer: {module} may not use {dst} "
                            f"({self.map.direction(module, dst)}); {module} may use: "
                            f"{self.map.describe_may_use(module)}")
        owner = self.map.internal.get(target)
        if owner is not None and owner != module:
            if not self.map.allowed_for_now("internal-header", (rel, include)):
                self.report(rel, number,
                            f"{shown}: rule internal-header: {target} is private to "
                            f"{self.map.modules[owner]['path']}; use {owner}'s public headers")
        from_portable = rel in self.map.portable or module == "firmware"
        if from_portable and dst != "firmware" and target not in self.map.portable:
            what = "firmware/" if module == "firmware" else "the portable core"
            self.report(rel, number,
                        f"{shown}: rule portable: {what} may include only portable files "
                        f"(scripts/layers.json portable.files), and {target} is host code")

    def check_openssl(self, rel, number, include):
        if any(rel.startswith(d) for d in self.map.openssl_dirs) or rel in self.map.openssl_files:
            return
        if self.map.allowed_for_now("openssl", (rel, include)):
            return
        allowed = ", ".join(d.rstrip("/") + "/" for d in self.map.openssl_dirs)
        allowed += ", " + ", ".join(sorted(self.map.openssl_files))
        self.report(rel, number,
                    f"includes <{include}>: rule openssl: OpenSSL is used only through the crypto "
                    f"layer; raw OpenSSL is allowed in {allowed}")

    # ---- CMake target_link_libraries ---------------------------------------------------------

    @staticmethod
    def cmake_calls(text, command):
        """(line, [arguments]) of each call of command, comments removed."""
        clean = []
        for line in text.split("\n"):
            out, in_string = [], False
            for ch in line:
                if ch == '"':
                    in_string = not in_string
                elif ch == "#" and not in_string:
                    break
                out.append(ch)
            clean.append("".join(out))
        body = "\n".join(clean)
        for m in re.finditer(r"\b" + command + r"\s*\(", body, re.IGNORECASE):
            depth, i = 1, m.end()
            while i < len(body) and depth:
                depth += {"(": 1, ")": -1}.get(body[i], 0)
                i += 1
            args = body[m.end():i - 1].split()
            yield body.count("\n", 0, m.start()) + 1, [a.strip('"') for a in args]

    def check_links(self):
        keywords = {"PUBLIC", "PRIVATE", "INTERFACE", "LINK_PUBLIC", "LINK_PRIVATE",
                    "LINK_INTERFACE_LIBRARIES", "debug", "optimized", "general"}
        for cmake in self.map.cmake_files:
            path = os.path.join(self.root, cmake)
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as err:
                raise IOError(f"{cmake}: {err.strerror}") from err
            for line, args in self.cmake_calls(text, "target_link_libraries"):
                if not args:
                    continue
                target, deps = args[0], [a for a in args[1:] if a not in keywords]
                module = self.map.targets.get(target)
                if module is None:
                    self.report(cmake, line, f"target {target}: rule unmapped: add it to "
                                             f"scripts/layers.json (targets)")
                    continue
                for dep in deps:
                    self.check_link(cmake, line, target, module, dep)

    def check_link(self, cmake, line, target, module, dep):
        if dep.startswith("OpenSSL::"):
            if module in self.map.openssl_link_modules:
                return
            if not self.map.allowed_for_now("openssl-link", (target, dep)):
                self.report(cmake, line,
                            f"{target} links {dep}: rule openssl-link: only the targets of "
                            f"{', '.join(sorted(self.map.openssl_link_modules))} link OpenSSL")
            return
        dst = self.map.targets.get(dep)
        if dst is None:
            if dep.startswith("ironseal"):
                self.report(cmake, line, f"{target} links {dep}: rule unmapped: add {dep} to "
                                         f"scripts/layers.json (targets)")
            return  # a third-party library
        if dst == module or dst in self.map.modules[module]["may_use"]:
            return
        if not self.map.allowed_for_now("link", (target, dep)):
            self.report(cmake, line,
                        f"{target} links {dep}: rule link: {module} may not use {dst} "
                        f"({self.map.direction(module, dst)}); {module} may use: "
                        f"{self.map.describe_may_use(module)}")

    # ---- the folders and the doc -------------------------------------------------------------

    def check_folders(self):
        """Every folder of src/ and apps/ with sources belongs to a module."""
        for top in ("src", "apps"):
            base = os.path.join(self.root, top)
            if not os.path.isdir(base):
                continue
            for name in sorted(os.listdir(base)):
                rel = f"{top}/{name}"
                if os.path.isdir(os.path.join(base, name)) and self.map.module_of(rel) is None:
                    self.report(rel, 0, "folder in no module: rule unmapped: add it to "
                                        "scripts/layers.json (modules) and docs/architecture.md")

    def check_doc(self):
        rel = posix(os.path.relpath(self.doc_path, self.root))
        if rel.startswith("../"):
            rel = posix(os.path.abspath(self.doc_path))
        try:
            with open(self.doc_path, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError as err:
            raise IOError(f"{rel}: {err.strerror}") from err
        try:
            begin = next(i for i, l in enumerate(lines) if l.strip() == DOC_BEGIN)
            end = next(i for i, l in enumerate(lines) if l.strip() == DOC_END and i > begin)
        except StopIteration:
            self.report(rel, 1, f"rule doc: no table between {DOC_BEGIN} and {DOC_END}")
            return
        seen = {}
        for i in range(begin + 1, end):
            cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            if len(cells) < 3 or not cells[0].startswith("`"):
                continue
            path = cells[0].strip("`").rstrip("/")
            name = self.map.module_of(path)
            if name is None or self.map.modules[name]["path"] != path:
                self.report(rel, i + 1, f"rule doc: row {path} is no module of scripts/layers.json")
                continue
            uses = re.findall(r"`([^`]+)`", cells[-1])
            seen[name] = i + 1
            rank = self.map.modules[name]["rank"]
            if len(cells) >= 4 and cells[1] != str(rank):
                self.report(rel, i + 1, f"rule doc: {path} is layer {cells[1]} here but {rank} "
                                        f"in scripts/layers.json")
            want = self.map.modules[name]["may_use"]
            if sorted(uses) != sorted(want):
                self.report(rel, i + 1,
                            f"rule doc: {path} may use {', '.join(uses) or 'nothing'} here but "
                            f"{', '.join(want) or 'nothing'} in scripts/layers.json")
        for name, m in self.map.modules.items():
            if name not in seen:
                self.report(rel, end + 1, f"rule doc: module {m['path']} has no row in the table")

    def stale_exceptions(self):
        return [e for e in self.map.exceptions if not e["used"]]


def count_lines(root, layer_map):
    print("| folder | files | lines |")
    print("|---|---:|---:|")
    total_files = total_lines = 0
    for name, m in layer_map.modules.items():
        files = lines = 0
        for dirpath, _, filenames in os.walk(os.path.join(root, m["path"])):
            for fn in filenames:
                if fn.endswith((".h", ".cc", ".c")):
                    files += 1
                    with open(os.path.join(dirpath, fn), "rb") as f:
                        lines += f.read().count(b"\n")
        total_files += files
        total_lines += lines
        print(f"| `{m['path']}` | {files} | {lines} |")
    print(f"| all | {total_files} | {total_lines} |")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."),
                        help="the source tree to check (default: this script's checkout)")
    parser.add_argument("--config", help="the layer map (default: ROOT/scripts/layers.json)")
    parser.add_argument("--doc", help="the doc whose table must agree "
                                      "(default: ROOT/docs/architecture.md)")
    parser.add_argument("--lines", action="store_true",
                        help="print the line count per folder (*.h, *.cc, *.c) and exit")
    parser.add_argument("--fail-stale", action="store_true",
                        help="also fail when an allowed_for_now entry matches nothing any more")
    args = parser.parse_args(argv)

    root = os.path.abspath(args.root)
    config = args.config or os.path.join(root, "scripts", "layers.json")
    doc = args.doc or os.path.join(root, "docs", "architecture.md")
    try:
        with open(config, encoding="utf-8") as f:
            layer_map = LayerMap(json.load(f))
    except (OSError, json.JSONDecodeError, ConfigError) as err:
        print(f"check_layers: cannot use the layer map {config}: {err}", file=sys.stderr)
        return 2
    if args.lines:
        count_lines(root, layer_map)
        return 0

    checker = Checker(root, layer_map, doc)
    try:
        checker.check_folders()
        checker.check_includes()
        checker.check_links()
        checker.check_doc()
    except IOError as err:
        print(f"check_layers: cannot read {err}", file=sys.stderr)
        return 3

    for _, text in sorted(checker.violations):
        print(text)
    stale = checker.stale_exceptions()
    for e in stale:
        a, b = e["key"]
        kind = "error" if args.fail_stale else "warning"
        print(f"{kind}: allowed_for_now entry ({e['rule']}: {a} -> {b}) matches nothing any "
              f"more; remove it from scripts/layers.json", file=sys.stderr)
    allowed = sum(1 for e in layer_map.exceptions if e["used"])
    failed = len(checker.violations) + (len(stale) if args.fail_stale else 0)
    if checker.violations:
        print(f"check_layers: {len(checker.violations)} violation(s) of the layer map "
              f"(docs/architecture.md); {allowed} known one(s) allowed for now")
    else:
        print(f"check_layers: ok ({allowed} known violation(s) allowed for now, "
              f"listed in scripts/layers.json)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
