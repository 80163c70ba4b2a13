"""Every error says why in both languages: each raise site names a catalogue template
(no f-string), the catalogue has Chinese text with the same placeholders, and the
parameters the site passes are the template's."""

from __future__ import annotations

import ast
import importlib
import re
import string
from pathlib import Path

import pytest

from hotline.tenants.kernel.errors import ErrorCode, Invalid, NotFound, WeakPassword, localized
from hotline.tenants.kernel.messages import MESSAGES_ZH, TERMS_ZH

ROOT = Path(__file__).resolve().parents[2]
ERRORS = {
    "DomainError",
    "Invalid",
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "AuthFailed",
    "Locked",
    "RateLimited",
    "TotpRequired",
    "WeakPassword",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[1:])  # tenants/hotline/... → hotline....


def _sites() -> list[tuple[str, str, str | None, set[str], str]]:
    """(where, error class, template or None when not literal, keyword names, kind)."""
    found: list[tuple[str, str, str | None, set[str], str]] = []
    for root in ("tenants", "schema", "workers"):
        for path in sorted((ROOT / root / "hotline").rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ERRORS
                    and node.args
                ):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                arg = node.args[0]
                keywords = {k.arg for k in node.keywords if k.arg and k.arg != "field"}
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((where, node.func.id, arg.value, keywords, "literal"))
                elif isinstance(arg, ast.Name):
                    value = getattr(importlib.import_module(_module(path)), arg.id)
                    found.append((where, node.func.id, value, keywords, "constant"))
                else:
                    found.append((where, node.func.id, None, keywords, type(arg).__name__))
    return found


SITES = _sites()


def test_the_scan_sees_the_raise_sites() -> None:
    assert len(SITES) > 200


def test_every_raise_site_names_a_catalogue_template_with_its_parameters() -> None:
    problems = []
    for where, kind, template, keywords, how in SITES:
        if kind == "NotFound":
            if template is not None and template not in TERMS_ZH:
                problems.append(f"{where}: NotFound({template!r}) has no Chinese noun")
            continue
        if template is None:
            if not (where.startswith("schema/hotline/schema/ids.py")):
                problems.append(f"{where}: {how} message; use a template and parameters")
            continue
        if template not in MESSAGES_ZH:
            problems.append(f"{where}: {template!r} is not in hotline.tenants.kernel.messages")
        elif _placeholders(template) != keywords:
            problems.append(f"{where}: parameters {keywords} ≠ placeholders of {template!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("template", sorted(MESSAGES_ZH))
def test_each_message_has_chinese_text_with_the_same_placeholders(template: str) -> None:
    chinese = MESSAGES_ZH[template]
    assert CJK.search(chinese), chinese
    assert _placeholders(chinese) == _placeholders(template)


def test_the_texts_are_filled_in_both_languages() -> None:
    error = Invalid("a title has 1 to {max} characters", field="title", max=200)
    assert error.message == "a title has 1 to 200 characters"
    assert error.localized("zh-CN") == "标题须为 1 到 200 个字符"
    assert error.localized("en-US") == "A title has 1 to 200 characters"
    assert NotFound("ticket").localized("zh-CN,zh;q=0.9") == "未找到工单，或您无权访问"
    weak = WeakPassword(
        "the password {problems}",
        problems=["must be at least 10 characters long", "must not contain the username"],
    )
    assert weak.localized("zh") == "密码不符合要求：至少 10 个字符、不能包含用户名"
    assert "must not contain the username" in weak.message
    # nothing left untranslated, and the generic text when there is no message at all
    assert localized(ErrorCode.INVALID, "zh-CN", template="brand new text") == (
        "输入有误，请检查：brand new text"
    )
    assert localized(ErrorCode.INVALID, "en", field="code") == "Please check this input (code)"
