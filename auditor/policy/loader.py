"""YAML policy file → validated `Policy`, with every error naming file:line:column and the field.

ruamel.yaml's round-trip loader keeps the position of every key; we flatten the document into
plain Python while recording `dotted.path → (line, column)`, validate with pydantic, and map
each validation error back to the YAML position it came from.
"""

from __future__ import annotations

import difflib
import errno
import functools
import hashlib
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from auditor.files import wide_encoding
from auditor.policy.models import Policy, PolicySource

MAX_POLICY_BYTES = 1024 * 1024
MAX_ALIASES = 100
MAX_VALUES = 200_000  # a policy holds hundreds; more means aliases expanding without end (an alias bomb)
MAX_FLOW_DEPTH = 64  # `[[[[…` nested deeper than any policy needs; the parser would recurse without end
MAX_DEPTH = 64  # block nesting (`a:\n  b:\n    c: …`, `- - - …`) likewise, counted by ruamel's composer
MAX_INT_DIGITS = 64  # a policy's largest number has a few digits; Python refuses to convert 4,300 or more
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class PolicyIssue:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{_shown(self.file, 200)}:{self.line}:{self.column}"
        message = _shown(self.message, 400)
        return f"{where}: {_shown(self.path, 120)}: {message}" if self.path else f"{where}: {message}"


# controls, bidi embeddings, overrides and isolates, line and paragraph separators, and the invisible
# zero-width characters (U+200B-U+200F, U+2060-U+2064, U+FEFF): a key that holds one is shown with it escaped
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _shown(text: str, width: int) -> str:
    """`text` on one line of the terminal: control and bidi characters as escapes, clipped to `width`."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= width else text[: width - 1] + "…"


class PolicyError(Exception):
    """A policy file could not be loaded; `issues` says where and why."""

    def __init__(self, issues: list[PolicyIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


NOT_SECTIONS = frozenset({"version", "extends", "tenant", "waivers", "sources"})


MAX_EXTENDS_DEPTH = 8
EXTENDS = "extends"
EXTENDS_ALLOW_VARIABLE = "SSPR_EXTENDS_ALLOW"


@dataclass(frozen=True)
class Boundary:
    """The folders a policy's `extends` (and a fleet's tenant policies) may name files in.

    By default one folder: the repository the policy (or fleet inventory) the user named is in (the nearest
    folder above it holding `.git`), else that file's own folder. `SSPR_EXTENDS_ALLOW` (folders separated by
    `:`) adds more, and only there is an absolute path accepted. A pull request can change a policy file, not
    the environment of the run: it cannot point `extends` at a file outside the checkout.
    """

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, named: Path) -> Boundary:
        folder = Path(os.path.realpath(named)).parent
        root = next((parent for parent in (folder, *folder.parents) if (parent / ".git").exists()), folder)
        allowed = [Path(os.path.realpath(part)) for part in os.environ.get(EXTENDS_ALLOW_VARIABLE, "").split(":")
                   if part.strip() and Path(part).is_absolute()]
        return cls((root, *allowed))

    def holds(self, real: Path) -> bool:
        return any(real == root or root in real.parents for root in self.roots)


@dataclass(frozen=True)
class Reference:
    """Where a file was named (`extends`, or a fleet tenant's `policy`): the issue of a refusal points there."""

    file: str
    line: int
    column: int
    key: str
    text: str

    def refused(self, why: str) -> PolicyError:
        return PolicyError([PolicyIssue(self.file, self.line, self.column, self.key, why)])


def load_policy(path: str | Path, *, boundary: Boundary | None = None, named_by: Reference | None = None) -> Policy:
    """A policy file, with the chain of files it `extends` merged under it (see `_merged`).

    `named_by`: the file was named in another file (a fleet inventory) rather than by the user, so it is read
    as `extends` reads a base: inside `boundary`, and refused in one line without its content when it is not
    a policy."""
    path = Path(path)
    name = str(path)
    boundary = boundary or Boundary.of(path)
    document, positions, files, raw = _load_document(path, chain=(), boundary=boundary, named_by=named_by)
    return _validated(document, name, positions, files, raw, own=named_by is None)


def resolve_reference(ref: Reference, folder: Path, boundary: Boundary) -> Path:
    """The real path of the policy file `ref.text` names, relative to `folder`: refused (at `ref`) when it is
    absolute outside the allowed folders, leaves them (`..`, a symbolic link), loops, or is not a file."""
    text = ref.text
    if not text.strip() or "\x00" in text:
        raise ref.refused(f"`{EXTENDS}` takes the relative path of a policy file")
    given = Path(text)
    if given.is_absolute() and not boundary.holds(Path(os.path.normpath(given))):
        raise ref.refused(f"{text} is an absolute path: give a path relative to this file, inside "
                          f"{boundary.roots[0]} (or allow another folder with {EXTENDS_ALLOW_VARIABLE})")
    candidate = Path(os.path.normpath(folder / given))
    if not boundary.holds(candidate):
        raise ref.refused(f"{text} leaves {boundary.roots[0]}: a policy extends files inside its own repository "
                          f"folder (allow another folder with {EXTENDS_ALLOW_VARIABLE})")
    try:
        # strict: a loop or a missing file is an OSError (ELOOP, ENOENT), never Path.resolve's RuntimeError
        # (https://docs.python.org/3/library/os.path.html#os.path.realpath)
        real = Path(os.path.realpath(candidate, strict=True))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ref.refused(f"{text}: its symbolic links go round in a loop") from None
        raise ref.refused(f"{text} is not a file (looked for {candidate})") from None
    if not boundary.holds(real):
        raise ref.refused(f"{text} is a symbolic link to a file outside {boundary.roots[0]}: refused (allow that "
                          f"folder with {EXTENDS_ALLOW_VARIABLE})")
    if not real.is_file():
        raise ref.refused(f"{text} is not a file (looked for {candidate})")
    return real


def parse_policy(raw: bytes, name: str) -> Policy:
    """A policy from bytes (no `extends`: there is no folder to resolve it in)."""
    document, positions = _document_of(raw, name)
    if EXTENDS in document:
        line, column = positions.get(EXTENDS, (1, 1))
        raise PolicyError([PolicyIssue(name, line, column, EXTENDS, "`extends` needs a policy file on disk")])
    return _validated(document, name, positions, {}, [raw])


def _read(path: Path) -> bytes:
    from auditor.files import InputFileError, read_bounded

    try:
        return read_bounded(path, MAX_POLICY_BYTES, "the policy file")
    except InputFileError as exc:
        message = str(exc).removeprefix(f"{path}: ")
        raise PolicyError([PolicyIssue(str(path), 1, 1, "", message)]) from None


def _document_of(raw: bytes, name: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError([PolicyIssue(name, 1, 1, "", f"file is {len(raw)} bytes; the limit is {MAX_POLICY_BYTES}")])
    text = _decode(raw, name)
    document, positions = _parse_yaml(text, name)
    if document is None:
        raise PolicyError([PolicyIssue(name, 1, 1, "", "the file is empty; expected a mapping with `sspr:` etc.")])
    if not isinstance(document, dict):
        raise PolicyError([PolicyIssue(name, 1, 1, "", f"expected a mapping at the top, got {_kind(document)}")])
    return document, positions


def _load_document(path: Path, chain: tuple[Path, ...], boundary: Boundary, named_by: Reference | None) -> tuple[
        dict[str, Any], dict[str, tuple[int, int]], dict[str, str], list[bytes]]:
    """(document, positions, the file of each key not from `path`, the bytes of every file read) of `path` and
    the files it extends, merged: a mapping is merged key by key, anything else (a list, a value) replaced.
    A file `named_by` another is first checked to be a policy at all (`_named_document`)."""
    name = str(path)
    raw = _read(path)
    document, positions = _document_of(raw, name) if named_by is None else _named_document(raw, named_by)
    base_ref = document.pop(EXTENDS, None)
    if base_ref is None:
        return document, positions, {}, [raw]
    line, column = positions.pop(EXTENDS, (1, 1))
    if not isinstance(base_ref, str):
        raise PolicyError([PolicyIssue(name, line, column, EXTENDS, "`extends` takes the path of a policy file")])
    here = Path(os.path.realpath(path))
    reference = Reference(name, line, column, EXTENDS, base_ref)
    base = resolve_reference(reference, here.parent, boundary)
    if base in chain or base == here:
        cycle = " → ".join(str(p) for p in (*chain, here, base))
        raise PolicyError([PolicyIssue(name, line, column, EXTENDS, f"`extends` goes round in a circle: {cycle}")])
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise PolicyError([PolicyIssue(name, line, column, EXTENDS,
                                       f"more than {MAX_EXTENDS_DEPTH} files extend one another")])
    return over_base(base, document, positions, raw, (*chain, here), boundary=boundary, named_by=reference)


def _named_document(raw: bytes, ref: Reference) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """The document of a file another file names as a policy, refused in one line at `ref` when it is not one.

    A pull request may point `extends` at any file of the checkout (a credentials file an earlier step wrote):
    what such a file holds is never shown: not its lines, keys or values, only where it stops being a policy.
    """
    def not_a_policy(why: str) -> PolicyError:
        return ref.refused(f"{ref.text} is not a policy file: {why} (its content is not shown; "
                           f"`sspr-audit validate` on it says more if it is yours)")

    try:
        text = _decode(raw, ref.text)
    except PolicyError:
        wide = wide_encoding(raw)
        raise not_a_policy(f"it is {wide}, not UTF-8" if wide else "it is not UTF-8 text") from None
    try:
        document, positions = _parse_yaml(text, ref.text)
    except PolicyError as exc:
        first = exc.issues[0]
        raise not_a_policy(f"it is not YAML a policy reads (line {first.line}, column {first.column})") from None
    if document is None:
        raise not_a_policy("it is empty") from None
    if not isinstance(document, dict):
        raise not_a_policy(f"its top level is {_kind(document)}, not a mapping") from None
    fields = list(Policy.model_fields)
    strangers = [key for key in document if key not in fields]
    # a misspelt section (`writebak`) is still a policy, and gets its "did you mean"; `clientSecret` is not
    if any(not difflib.get_close_matches(key, fields, n=1, cutoff=0.75) for key in strangers):
        raise not_a_policy(f"{len(strangers)} of its {len(document)} top-level keys are no policy's") from None
    return document, positions


def over_base(base: Path, document: dict[str, Any], positions: dict[str, tuple[int, int]], raw: bytes,
              chain: tuple[Path, ...] = (), *, boundary: Boundary, named_by: Reference) -> tuple[
                  dict[str, Any], dict[str, tuple[int, int]], dict[str, str], list[bytes]]:
    """`document` (with its key positions and bytes) merged over the policy file `base` and what that extends:
    the same four things `_load_document` returns; keys not declared in `document` keep their base file."""
    parent, parent_positions, parent_files, parent_raw = _load_document(base, chain, boundary, named_by)
    replaced: list[str] = []
    merged = _merged(parent, document, "", replaced)
    kept = {key: where for key, where in parent_positions.items()
            if not any(key.startswith(f"{prefix}.") for prefix in replaced)}  # a replaced subtree's keys are gone
    files = {key: parent_files.get(key, str(base)) for key in kept if key not in positions}
    return merged, {**kept, **positions}, files, [raw, *parent_raw]


def _merged(base: Any, override: Any, prefix: str, replaced: list[str]) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            path = f"{prefix}.{key}" if prefix else key
            out[key] = _merged(base[key], value, path, replaced) if key in base else value
        return out
    replaced.append(prefix)
    return override


def _validated(document: dict[str, Any], name: str, positions: dict[str, tuple[int, int]],
               files: dict[str, str], raws: list[bytes], *, own: bool = True) -> Policy:
    """`document` as a Policy. `own`: `name` is the file the user named (not one another file named): its values
    may be echoed in a message; a value from any other file (a base it `extends`) never is."""
    _refuse_empty_sections(document, name, positions, files)
    try:
        policy = Policy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(_issues_from_validation(exc, name, positions, files, own=own)) from None
    _refuse_nothing_to_audit(policy, name)
    # one digest over the file and every file it extends: a plan names the policy exactly, bases included
    digest = hashlib.sha256(raws[0]) if len(raws) == 1 else hashlib.sha256(
        b"".join(hashlib.sha256(raw).digest() for raw in raws))
    policy._source = PolicySource(file=name, positions=positions, sha256=digest.hexdigest(), key_files=files,
                                  expanded=document)
    return policy


def _refuse_empty_sections(document: dict[str, Any], name: str, positions: dict[str, tuple[int, int]],
                           files: dict[str, str] | None = None) -> None:
    """A section declared with nothing in it audits nothing: an error, never a silent "compliant"."""
    sections = [key for key in Policy.model_fields if key not in NOT_SECTIONS]
    issues = []
    for key in sections:
        if key in document and document[key] in (None, {}):
            line, column = positions.get(key, (1, 1))
            issues.append(PolicyIssue(_file_of(key, name, files or {}), line, column, key,
                                      f"`{key}` is declared but empty: give its settings, "
                                                                 "or remove the key to leave it unaudited"))
    if issues:
        raise PolicyError(issues)


def _refuse_nothing_to_audit(policy: Policy, name: str) -> None:
    sections = [key for key in Policy.model_fields if key not in NOT_SECTIONS]
    if all(getattr(policy, key) is None for key in sections):
        raise PolicyError([PolicyIssue(name, 1, 1, "", f"the policy declares no section to audit (one of: "
                                                       f"{', '.join(sections)})")])


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    wide = wide_encoding(raw)
    if wide:  # its NUL bytes would otherwise read as "unacceptable character #x0000", or 0xff as a bad byte
        raise PolicyError([PolicyIssue(name, 1, 1, "", f"not UTF-8: the file is {wide}; save it as UTF-8")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PolicyError(
            [PolicyIssue(name, line, column, "", f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded")]
        ) from None


def _parse_yaml(text: str, name: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    if text.count("*") > MAX_ALIASES and _alias_count(text) > MAX_ALIASES:
        raise PolicyError([PolicyIssue(name, 1, 1, "", f"more than {MAX_ALIASES} YAML aliases; refusing to expand")])
    from ruamel.yaml.composer import MaxDepthExceededError

    _check_flow_depth(text, name)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.max_depth = MAX_DEPTH  # ruamel's composer refuses deeper nodes with their mark (it recurses per level)
    yaml.Constructor = _policy_constructor()
    try:
        document = yaml.load(text)
    except RecursionError:
        raise PolicyError([PolicyIssue(name, 1, 1, "", "the YAML is nested too deeply to read")]) from None
    except (MaxDepthExceededError, _Refused) as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (f"nested more than {MAX_DEPTH} levels deep; refusing to read"
                   if isinstance(exc, MaxDepthExceededError) else str(exc.problem))
        raise PolicyError([PolicyIssue(name, line, column, "", message)]) from None
    except MarkedYAMLError as exc:
        # a quote or bracket left open is found at the end of the file: point at where it was opened
        at_end = "end of stream" in (exc.problem or "") and exc.context_mark is not None
        mark = exc.context_mark if at_end else (exc.problem_mark or exc.context_mark)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        problem = problem.replace("\n", " ")
        if "\t" in text and ("tab" in problem.lower() or "'\\t'" in problem):
            problem += " (YAML does not allow tabs for indentation; use spaces)"
        raise PolicyError([PolicyIssue(name, line, column, "", f"YAML syntax: {problem}")]) from None
    except YAMLError as exc:
        # the reader's errors (a NUL byte, a control character) carry the offset, not a mark
        offset = getattr(exc, "position", None)
        line, column = ((text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1)
                        if isinstance(offset, int) else (1, 1))
        raise PolicyError([PolicyIssue(name, line, column, "", f"YAML: {str(exc).splitlines()[0]}")]) from None
    except Exception as exc:  # ruamel's constructors raise plain errors too (a mapping used as a key: TypeError)
        explicit_key = re.search(r"(?m)^[ -]*\? ", text) if "unhashable" in str(exc) else None
        line = text.count("\n", 0, explicit_key.start()) + 1 if explicit_key else 1
        raise PolicyError([PolicyIssue(name, line, 1, "", f"YAML that cannot be read as data: {type(exc).__name__}: "
                                                          f"{str(exc)[:200]}")]) from None
    positions: dict[str, tuple[int, int]] = {}
    try:
        return _plain(document, "", positions, _Budget(name, positions)), positions
    except RecursionError:
        raise PolicyError([PolicyIssue(name, 1, 1, "", "the YAML is nested too deeply to read")]) from None


@functools.cache
def _policy_constructor() -> type:
    from ruamel.yaml.constructor import RoundTripConstructor

    class PolicyConstructor(RoundTripConstructor):
        """Timestamps stay text: pydantic parses the dates a policy holds and says where one is wrong
        (ruamel's own parser raises a bare ValueError for `2026-13-01`, with no position). An integer of more
        than MAX_INT_DIGITS digits is refused where it stands (Python's int() refuses 4,300 digits or more with
        a ValueError that carries no position: https://docs.python.org/3/library/stdtypes.html#int-max-str-digits)."""

        def construct_yaml_int(self, node: Any) -> Any:
            digits = sum(char.isdigit() for char in str(node.value))
            if digits > MAX_INT_DIGITS:
                raise _Refused(f"an integer of {digits} digits (the limit is {MAX_INT_DIGITS})", node.start_mark)
            return super().construct_yaml_int(node)

    PolicyConstructor.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)
    PolicyConstructor.add_constructor("tag:yaml.org,2002:int", PolicyConstructor.construct_yaml_int)
    return PolicyConstructor


class _Refused(Exception):
    """A value the constructor refuses, with the mark where it stands."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


def _check_flow_depth(text: str, name: str) -> None:
    """Refuse `[[[[…` or `{{{{…` nested deeper than MAX_FLOW_DEPTH, naming where (before the parser recurses)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return
    depth, quote = 0, ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                line = text.count("\n", 0, index) + 1
                column = index - (text.rfind("\n", 0, index) + 1) + 1
                raise PolicyError([PolicyIssue(name, line, column, "",
                                               f"brackets nested more than {MAX_FLOW_DEPTH} deep; refusing to read")])
        elif char in "]}":
            depth = max(0, depth - 1)


class _Budget:
    """Counts the values `_plain` walks, so aliases that expand without end stop with an error."""

    def __init__(self, name: str, positions: dict[str, tuple[int, int]]) -> None:
        self.name, self.positions, self.left = name, positions, MAX_VALUES

    def spend(self, path: str) -> None:
        self.left -= 1
        if self.left < 0:
            line, column = _nearest_position(path.split("."), self.positions)
            raise PolicyError([PolicyIssue(self.name, line, column, "",
                                           f"the document expands to more than {MAX_VALUES} values (YAML aliases "
                                           "repeating each other, an alias bomb?); refusing to expand")])


def _alias_count(text: str) -> int:
    import re

    return len(re.findall(r"(?:^|[\s\[{,])\*[^\s,\]}]+", text))


def _plain(node: Any, prefix: str, positions: dict[str, tuple[int, int]], budget: _Budget) -> Any:
    """Turn ruamel's commented nodes into plain Python, recording each key's position."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
    from ruamel.yaml.scalarbool import ScalarBoolean

    budget.spend(prefix)
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            path = f"{prefix}.{key}" if prefix else str(key)
            try:
                line, column = node.lc.key(key)
                positions[path] = (line + 1, column + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            out[str(key)] = _plain(node[key], path, positions, budget)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            path = f"{prefix}.{index}"
            try:
                line, column = node.lc.item(index)
                positions[path] = (line + 1, column + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            items.append(_plain(item, path, positions, budget))
        return items
    if isinstance(node, str):
        if _SURROGATE.search(node):  # "\ud800" in a quoted string: no UTF-8 report could hold it
            line, column = _nearest_position(prefix.split("."), positions)
            raise PolicyError([PolicyIssue(budget.name, line, column, prefix,
                                           "a lone surrogate escape (\\ud800-\\udfff) is not a character")])
        return str(node)
    if isinstance(node, TaggedScalar):  # `!!str 2024` is the text "2024"; another tag is no policy's
        if str(node.tag.value) == "tag:yaml.org,2002:str":
            return _plain(str(node.value), prefix, positions, budget)
        line, column = _nearest_position(prefix.split("."), positions)
        raise PolicyError([PolicyIssue(budget.name, line, column, prefix,
                                       f"the YAML tag {node.tag.value} is not one a policy uses (give a plain "
                                       "value, or !!str for text)")])
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, ScalarBoolean):  # `&anchor true`: ruamel keeps a bool subclass of int to remember it
        return bool(node)
    if isinstance(node, bytes | bytearray):  # `!!binary`
        line, column = _nearest_position(prefix.split("."), positions)
        raise PolicyError([PolicyIssue(budget.name, line, column, prefix, "a binary value has no place in a policy")])
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _file_of(path: str, name: str, files: dict[str, str]) -> str:
    """The file that declared `path` (or its nearest declared parent)."""
    parts = path.split(".")
    while parts:
        key = ".".join(parts)
        if key in files:
            return files[key]
        parts.pop()
    return name


def _issues_from_validation(
    exc: ValidationError, name: str, positions: dict[str, tuple[int, int]], files: dict[str, str] | None = None,
    *, own: bool = True,
) -> list[PolicyIssue]:
    """One issue per validation error, at its key's line. A value is echoed ("(got …)", a validator's own words
    about it) only from the user's own file (`own`, and the key declared in `name`): a file reached through
    `extends` (or named by a fleet inventory) may be one a pull request pointed at to have its values printed in
    the CI log, as a file that is not a policy at all is refused without its content (`_named_document`)."""
    issues = []
    for error in exc.errors(include_url=False):
        loc: list[str] = []
        for part in error["loc"]:  # a key the file holds (`True:`, `~:`) is never a union tag, however spelt
            if not _is_union_tag(part) or ".".join([*loc, str(part)]) in positions:
                loc.append(str(part))
        path = ".".join(loc)
        line, column = _nearest_position(loc, positions)
        file = _file_of(_nearest_key(loc, positions), name, files or {})
        message = _message(error, loc, echo=own and file == name)
        issues.append(PolicyIssue(file, line, column, path, message))
    issues.sort(key=lambda i: (i.line, i.column))
    return issues


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the union member's type name into `loc`, e.g. ('sspr', 'group', 'GroupRef', 'id')
    return (isinstance(part, str) and part[:1].isupper()) or part in ("str", "int", "bool", "none", "literal[1,2]")


def _nearest_key(loc: list[str], positions: dict[str, tuple[int, int]]) -> str:
    parts = list(loc)
    while parts and ".".join(parts) not in positions:
        parts.pop()
    return ".".join(parts)


def _nearest_position(loc: list[str], positions: dict[str, tuple[int, int]]) -> tuple[int, int]:
    parts = list(loc)
    while parts:
        found = positions.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return (1, 1)


NOT_ECHOED = ("the value is not shown: the file is not the policy named on the command line (`sspr-audit validate` "
              "on it says more if it is yours)")


def _message(error: ErrorDetails, loc: list[str], echo: bool = True) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden" and loc:
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.6)
        text = "unknown key"
        if hint:
            text += f"; did you mean `{hint[0]}`?"
        elif allowed:
            text += f"; expected one of: {', '.join(sorted(allowed))}"
        return text
    if kind == "missing":
        return "required key is missing"
    if not echo:  # pydantic's own messages name what was expected, never the input; a validator's may quote it
        text = "not a valid value here" if kind in ("value_error", "assertion_error") else error["msg"]
        return f"{text} ({NOT_ECHOED})"
    text = error["msg"].removeprefix("Value error, ")
    if kind in ("enum", "literal_error") or kind.endswith("_type") or kind.endswith("_parsing"):
        text += f" (got {_short(given)})"
    return text


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool | None) else _kind(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    name = type(value).__name__.replace("Commented", "").replace("Scalar", "").lower()
    return {"map": "a mapping", "dict": "a mapping", "seq": "a list", "list": "a list", "str": "text",
            "int": "a number", "float": "a number", "boolean": "true or false", "bool": "true or false"}.get(name, name)


def _allowed_keys(loc: list[str]) -> list[str]:
    """The field names (and aliases) of the model at `loc`, walking Policy's annotations."""
    model: Any = Policy
    for part in loc:
        if part.isdigit():
            continue
        model = _model_of(model, part)
        if model is None:
            return []
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return list(model.model_fields)


def _model_of(model: Any, field_name: str) -> Any:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    field = model.model_fields.get(field_name)
    if field is None:
        return None
    return _unwrap(field.annotation)


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
        return None
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation
