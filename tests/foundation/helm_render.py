"""Render the Helm chart without helm: the part of Go's text/template and Sprig that the chart uses.

The suite validates the chart's output against the Kubernetes schemas, and
no helm binary is installed where it runs. This renders the templates the
way `helm template` does for what helm/spot uses: actions with `{{-`/`-}}`
trimming and comments; `define`, `include`, `if`/`else`, `range` over lists
and maps (a map in key order) with one or two variables; `$x :=` and
`$x =`; pipelines; and the functions in FUNCTIONS (no `else if`, `with`,
`tpl` or `toYaml`). Anything else (a missing
value among them) is an error rather than a guess, so a template that uses
more fails loudly here instead of validating something helm would not
render. `helm template` is used instead wherever helm is installed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    """The template uses something this renderer does not know, or a value is missing."""


_ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|:=|[()|=,]|[^\s()|=,]+')


def _quote(value: Any) -> str:
    return json.dumps(_text(value))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _indent(width: int, text: str) -> str:
    return "\n".join(" " * width + line for line in text.split("\n"))


def _index(collection: Any, *keys: Any) -> Any:
    for key in keys:
        try:
            collection = collection[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise TemplateError(f"index: no {key!r}") from exc
    return collection


def _uniq(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _truthy(value: Any) -> bool:
    return bool(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quote": _quote,
    "toJson": lambda value: json.dumps(value, separators=(",", ":")),
    "nindent": lambda width, text: "\n" + _indent(width, text),
    "indent": _indent,
    "list": lambda *items: list(items),
    "append": lambda items, item: [*items, item],
    "until": lambda count: list(range(count)),
    "int": int,
    "splitList": lambda separator, text: text.split(separator),
    "index": _index,
    "ternary": lambda yes, no, condition: yes if _truthy(condition) else no,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "not": lambda value: not _truthy(value),
    "printf": lambda pattern, *args: pattern.replace("%v", "%s") % tuple(_text(arg) for arg in args),
    "join": lambda separator, items: separator.join(_text(item) for item in items),
    "uniq": _uniq,
    "sortAlpha": lambda items: sorted(items, key=_text),
}


# ------------------------------------------------------------------ parsing


@dataclass
class Node:
    kind: str  # text, action, if, range, define
    text: str = ""
    tokens: list[str] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    otherwise: list[Node] = field(default_factory=list)


def _lex(source: str) -> list[tuple[str, str]]:
    """The template as ("text", …) and ("action", …) pieces, trimmed as `{{-` and `-}}` ask."""
    pieces: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(source):
        text = source[position : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        pieces.append(("text", text))
        body = match.group(2)
        if not (body.startswith("/*") and body.endswith("*/")):
            pieces.append(("action", body))
        trim_next = bool(match.group(3))
        position = match.end()
    text = source[position:]
    pieces.append(("text", text.lstrip() if trim_next else text))
    return pieces


def _parse(
    pieces: list[tuple[str, str]], start: int = 0, closers: tuple[str, ...] = ()
) -> tuple[list[Node], int, str]:
    """Nodes up to one of `closers` (end, else); returns them, the index after it, and which it was."""
    nodes: list[Node] = []
    index = start
    while index < len(pieces):
        kind, text = pieces[index]
        index += 1
        if kind == "text":
            if text:
                nodes.append(Node("text", text=text))
            continue
        tokens = _TOKEN.findall(text)
        word = tokens[0]
        if word in closers:
            return nodes, index, text
        if word in ("if", "range"):
            node = Node(word, tokens=tokens[1:])
            node.body, index, closer = _parse(pieces, index, ("end", "else"))
            if closer != "end" and closer != "else":
                raise TemplateError(f"unsupported: {closer!r}")
            if closer == "else":
                node.otherwise, index, _ = _parse(pieces, index, ("end",))
            nodes.append(node)
        elif word == "define":
            node = Node("define", text=json.loads(tokens[1]))
            node.body, index, _ = _parse(pieces, index, ("end",))
            nodes.append(node)
        elif word in ("end", "else", "with", "block", "template"):
            raise TemplateError(f"unexpected or unsupported action: {text!r}")
        else:
            nodes.append(Node("action", tokens=tokens))
    if closers:
        raise TemplateError(f"missing {closers[0]!r}")
    return nodes, index, ""


# --------------------------------------------------------------- evaluation


class Renderer:
    def __init__(self, sources: dict[str, str]) -> None:
        self.defines: dict[str, list[Node]] = {}
        self.trees: dict[str, list[Node]] = {}
        for name, source in sources.items():
            nodes, _, _ = _parse(_lex(source))
            self.trees[name] = [node for node in nodes if node.kind != "define"]
            for node in nodes:
                if node.kind == "define":
                    self.defines[node.text] = node.body

    def render(self, name: str, dot: Any) -> str:
        return self._render(self.trees[name], dot, [{"$": dot}])

    def _render(self, nodes: list[Node], dot: Any, scopes: list[dict[str, Any]]) -> str:
        out: list[str] = []
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "action":
                value = self._pipeline(node.tokens, dot, scopes)
                if value is not None:
                    out.append(_text(value))
            elif node.kind == "if":
                branch = node.body if _truthy(self._pipeline(node.tokens, dot, scopes)) else node.otherwise
                out.append(self._render(branch, dot, [*scopes, {}]))
            elif node.kind == "range":
                out.append(self._range(node, dot, scopes))
        return "".join(out)

    def _range(self, node: Node, dot: Any, scopes: list[dict[str, Any]]) -> str:
        tokens = node.tokens
        names: list[str] = []
        if ":=" in tokens:
            split = tokens.index(":=")
            names = [token for token in tokens[:split] if token != ","]
            tokens = tokens[split + 1 :]
        collection = self._pipeline(tokens, dot, scopes)
        items = sorted(collection.items()) if isinstance(collection, dict) else list(enumerate(collection))
        out = []
        for key, value in items:
            scope = dict(zip(names[::-1], (value, key), strict=False)) if names else {}
            out.append(self._render(node.body, value, [*scopes, scope]))
        if not items:
            out.append(self._render(node.otherwise, dot, [*scopes, {}]))
        return "".join(out)

    def _pipeline(self, tokens: list[str], dot: Any, scopes: list[dict[str, Any]]) -> Any:
        """Evaluate `[$x :=|=] command | command …`; a declaration or assignment outputs nothing."""
        target = None
        if len(tokens) > 2 and tokens[1] in (":=", "="):
            target, declare, tokens = tokens[0], tokens[1] == ":=", tokens[2:]
        commands: list[list[str]] = [[]]
        depth = 0
        for token in tokens:
            depth += (token == "(") - (token == ")")
            if token == "|" and depth == 0:
                commands.append([])
            else:
                commands[-1].append(token)
        value: Any = _NOTHING
        for command in commands:
            value = self._command(command, dot, scopes, value)
        if target is None:
            return value
        if declare:
            scopes[-1][target] = value
        else:
            next(scope for scope in reversed(scopes) if target in scope)[target] = value
        return None

    def _command(self, tokens: list[str], dot: Any, scopes: list[dict[str, Any]], piped: Any) -> Any:
        args = self._terms(tokens[1:], dot, scopes)
        if piped is not _NOTHING:
            args.append(piped)
        head = tokens[0]
        if head == "include":
            return self._render(self.defines[args[0]], args[1], [{"$": args[1]}])
        if head in FUNCTIONS:
            try:
                return FUNCTIONS[head](*args)
            except TemplateError:
                raise
            except Exception as exc:
                raise TemplateError(f"{head}{tuple(args)!r}: {exc}") from exc
        if args:
            raise TemplateError(f"{head!r} is not a function this renderer knows")
        return self._terms(tokens, dot, scopes)[0]

    def _terms(self, tokens: list[str], dot: Any, scopes: list[dict[str, Any]]) -> list[Any]:
        values: list[Any] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            index += 1
            if token == "(":
                depth, end = 1, index
                while depth:
                    depth += (tokens[end] == "(") - (tokens[end] == ")")
                    end += 1
                values.append(self._pipeline(tokens[index : end - 1], dot, scopes))
                index = end
            elif token.startswith('"'):
                values.append(json.loads(token))
            elif re.fullmatch(r"-?\d+", token):
                values.append(int(token))
            elif token in ("true", "false"):
                values.append(token == "true")
            elif token.startswith(("$", ".")):
                values.append(self._field(token, dot, scopes))
            elif token in FUNCTIONS or token == "include":
                raise TemplateError(f"a function as an argument needs brackets: {token!r}")
            else:
                raise TemplateError(f"unknown term {token!r}")
        return values

    def _field(self, token: str, dot: Any, scopes: list[dict[str, Any]]) -> Any:
        head, *names = token.split(".")
        if head:
            try:
                value = next(scope[head] for scope in reversed(scopes) if head in scope)
            except StopIteration:
                raise TemplateError(f"undefined variable {head}") from None
        else:
            value = dot
        for name in names:
            if not name:
                continue
            if not isinstance(value, dict) or name not in value:
                raise TemplateError(f"no value for {token}")
            value = value[name]
        return value


_NOTHING = object()


def render_chart(chart: Path, release: str = "spot", **overrides: Any) -> dict[str, list[dict[str, Any]]]:
    """Each template's documents as `helm template` gives them (top-level values overridden)."""
    values = {**yaml.safe_load((chart / "values.yaml").read_text()), **overrides}
    sources = {path.name: path.read_text() for path in sorted((chart / "templates").iterdir())}
    renderer = Renderer(sources)
    context = {"Values": values, "Release": {"Name": release, "Namespace": "default"}}
    rendered = {}
    for name in sources:
        if name.startswith("_"):
            continue
        rendered[name] = [doc for doc in yaml.safe_load_all(renderer.render(name, context)) if doc]
    return rendered
