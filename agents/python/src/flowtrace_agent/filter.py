"""Which modules get their functions traced. Entries (FLOWTRACE_INCLUDE / FLOWTRACE_EXCLUDE,
comma-separated): module-name prefixes (`shop`, `shop.orders`), path prefixes relative to the project
(`src/`, `./app/`), absolute path prefixes, or `/regex/flags` searched in the module's dotted name.
No include list means the project's own modules: files under the project folder that are not in
site-packages, the standard library, a virtual environment or the agent itself."""
from __future__ import annotations

import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

# `/pattern/flags` (flags among imsxa); an absolute path such as `/srv/app` is a path.
_REGEX_ENTRY = re.compile(r"^/(.+)/([imsxa]*)$")
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "a": re.ASCII}


@dataclass(frozen=True)
class ModulePrefix:
    prefix: str


@dataclass(frozen=True)
class PathPrefix:
    path: str  # absolute, with a trailing separator when it names a folder


@dataclass(frozen=True)
class ModuleRegex:
    pattern: "re.Pattern[str]"


FilterEntry = Union[ModulePrefix, PathPrefix, ModuleRegex]

# Never traced, whatever the filter says: the agent and what it runs on.
NEVER_MODULES = ("flowtrace_agent", "opentelemetry", "wrapt", "grpc", "google.protobuf", "importlib_metadata", "pkg_resources")


def parse_filter_entries(raw: str, setting: str, root: str) -> Tuple[List[FilterEntry], List[str]]:
    entries: List[FilterEntry] = []
    problems: List[str] = []
    for item in raw.split(","):
        text = item.strip()
        if not text:
            continue
        m = _REGEX_ENTRY.match(text)
        # `/srv/app/` is both forms: an existing folder is the folder (as a regex it would be
        # searched in dotted module names, which have no `/`, and trace nothing).
        if m and not (text.endswith("/") and os.path.isdir(text)):
            flags = 0
            for f in m.group(2):
                flags |= _FLAGS[f]
            try:
                entries.append(ModuleRegex(re.compile(m.group(1), flags)))
            except re.error as err:
                problems.append(f"{setting}: invalid regular expression {text} ({err})")
        elif os.path.isabs(text):
            entries.append(PathPrefix(os.path.normpath(text) + (os.sep if text.endswith(("/", os.sep)) else "")))
        elif "/" in text or os.sep in text or text.startswith(".") or text.endswith(".py"):
            rel = text[2:] if text.startswith("./") else text
            path = os.path.normpath(os.path.join(root, rel))
            entries.append(PathPrefix(path + (os.sep if text.endswith("/") else "")))
        else:
            entries.append(ModulePrefix(text))
    return entries, problems


def _outside_paths() -> List[str]:
    """Folders that are never the project's own code even when under the project folder."""
    out = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            out.add(os.path.normpath(sysconfig.get_paths()[name]) + os.sep)
        except KeyError:
            pass
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        out.add(os.path.normpath(prefix) + os.sep)
    return sorted(out)


class ModuleFilter:
    def __init__(self, include: Sequence[FilterEntry], exclude: Sequence[FilterEntry], root: str, agent_dir: Optional[str] = None) -> None:
        self.include = list(include)
        self.exclude = list(exclude)
        self.root = os.path.normpath(root) + os.sep
        self.agent_dir = os.path.normpath(agent_dir or os.path.dirname(os.path.abspath(__file__))) + os.sep
        self.outside = [p for p in _outside_paths() if not self.root.startswith(p)]

    def _in_package_dir(self, path: str) -> bool:
        return ("site-packages" + os.sep) in path or ("dist-packages" + os.sep) in path or any(path.startswith(p) for p in self.outside)

    def matches(self, module: str, file: Optional[str]) -> bool:
        """True when the functions of module `module`, loaded from `file`, are to be traced."""
        if module == "__main__" or any(module == n or module.startswith(n + ".") for n in NEVER_MODULES):
            return False
        path = os.path.normpath(os.path.abspath(file)) if file else ""
        if path and path.startswith(self.agent_dir):
            return False
        if self.include:
            included = any(self._hit(e, module, path) for e in self.include)
        else:
            included = bool(path) and path.startswith(self.root) and not self._in_package_dir(path)
        return included and not any(self._hit(e, module, path) for e in self.exclude)

    @staticmethod
    def _hit(e: FilterEntry, module: str, path: str) -> bool:
        if isinstance(e, ModulePrefix):
            # A plain prefix of the dotted name, as the Node.js agent's package prefixes: `shop` also takes `shopping`.
            return module.startswith(e.prefix)
        if isinstance(e, PathPrefix):
            return bool(path) and path.startswith(e.path)
        return e.pattern.search(module) is not None
