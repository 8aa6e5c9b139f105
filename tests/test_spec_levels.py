"""Check the support levels of spec/syscalls.toml against starry-glue.

An entry marked full, partial or stub must have a handler method
`fn sys_<name>` somewhere in starry-glue/src. An entry marked unimplemented
must have none, because for it the generated default body (ENOSYS) runs.
Partial and stub entries must name their gaps in `note`. These checks read
files only and boot no kernel.
"""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "syscalls.toml"
GLUE_SOURCES = ROOT / "starry-glue" / "src"

LEVELS = ("full", "partial", "stub", "unimplemented")
HANDLER_METHOD = re.compile(r"\bfn\s+sys_([a-z0-9_]+)\s*[(<]")
LINE_COMMENT = re.compile(r"//.*")


def spec_entries(text: str) -> list[dict]:
    return tomllib.loads(text)["syscall"]


def implemented_names(sources: Path) -> set[str]:
    """Return the names of the `fn sys_<name>` methods under `sources`.

    Line comments are removed first, so that a method named in a comment
    does not count as implemented.
    """
    names = set()
    for path in sorted(sources.rglob("*.rs")):
        code = LINE_COMMENT.sub("", path.read_text(encoding="utf-8"))
        names.update(HANDLER_METHOD.findall(code))
    return names


def level_problems(entries: list[dict], implemented: set[str]) -> list[str]:
    """Return one message per entry whose level disagrees with the glue."""
    problems = []
    for entry in entries:
        name, level = entry["name"], entry.get("level")
        note = entry.get("note", "").strip()
        if level not in LEVELS:
            problems.append(f"{name}: unknown level {level!r}; expected one of {', '.join(LEVELS)}")
            continue
        has_method = name in implemented
        if level != "unimplemented" and not has_method:
            problems.append(f"{name}: marked {level}, but starry-glue has no fn sys_{name}; "
                            "implement it or mark the entry unimplemented")
        if level == "unimplemented" and has_method:
            problems.append(f"{name}: marked unimplemented, but starry-glue has fn sys_{name}; "
                            "set the level by what the method does")
        if level in ("partial", "stub") and not note:
            problems.append(f"{name}: marked {level} without a note naming its gaps")
    return problems


def test_spec_levels_match_glue():
    entries = spec_entries(SPEC.read_text(encoding="utf-8"))
    problems = level_problems(entries, implemented_names(GLUE_SOURCES))
    assert not problems, "spec levels disagree with starry-glue:\n" + "\n".join(problems)


def test_every_glue_method_has_entry():
    names = {entry["name"] for entry in spec_entries(SPEC.read_text(encoding="utf-8"))}
    extra = sorted(implemented_names(GLUE_SOURCES) - names)
    assert not extra, f"starry-glue implements sys_ methods with no spec entry: {extra}"


# The checks themselves, on small made-up inputs, so that a check that can
# no longer fail is noticed.

def entry(name: str, level: str, note: str = "") -> dict:
    return {"name": name, "level": level, "note": note}


@pytest.mark.parametrize(
    ("spec_entry", "implemented", "expected"),
    [
        (entry("read", "full"), {"read"}, []),
        (entry("read", "full"), set(), ["read: marked full, but starry-glue has no fn sys_read"]),
        (entry("flock", "stub", "grants every lock"), set(), ["flock: marked stub, but"]),
        (entry("dup3", "unimplemented"), {"dup3"}, ["dup3: marked unimplemented, but"]),
        (entry("dup3", "unimplemented"), set(), []),
        (entry("mmap", "partial"), {"mmap"}, ["mmap: marked partial without a note"]),
        (entry("madvise", "stub", "  "), {"madvise"}, ["madvise: marked stub without a note"]),
        (entry("uname", "done"), {"uname"}, ["uname: unknown level 'done'"]),
    ],
)
def test_level_problems_cases(spec_entry, implemented, expected):
    problems = level_problems([spec_entry], implemented)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected):
        assert problem.startswith(start), problem


def test_implemented_names_skip_comments(tmp_path):
    nested = tmp_path / "fs"
    nested.mkdir()
    (nested / "mod.rs").write_text(
        "impl FsSyscalls for Handler {\n"
        "    fn sys_openat(&mut self, dirfd: DirFd) -> SysResult<i32> {\n"
        "        // fn sys_flock(&mut self) is not written yet\n"
        "    }\n"
        "    fn sys_wait4<T>(&mut self) {}\n"
        "}\n"
    )
    (tmp_path / "lib.rs").write_text("fn sys_read (&mut self) {}\nfn not_sys_write() {}\n")
    assert implemented_names(tmp_path) == {"openat", "wait4", "read"}
