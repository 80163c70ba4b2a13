"""Pure text helpers for Chinese search: terms, tsvector/tsquery literals, snippets.

Segmentation itself (jieba) is in ``segmentation.py``; everything here takes tokens
and is testable without a dictionary or a database. Literals are built here rather
than with ``to_tsvector``: PostgreSQL's parser does not split Chinese, and a literal
keeps our positions and weights exactly.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable, Sequence

# Words a caller says around the point of the question: they would match almost
# every article and drown the words that matter.
STOPWORDS = frozenset(
    [
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "他们",
        "我家",
        "咱",
        "俺",
        "自己",
        "人家",
        "的",
        "地",
        "得",
        "了",
        "着",
        "过",
        "吗",
        "呢",
        "啊",
        "吧",
        "呀",
        "嘛",
        "么",
        "哦",
        "噢",
        "哈",
        "是",
        "在",
        "有",
        "和",
        "与",
        "或",
        "或者",
        "及",
        "就",
        "都",
        "也",
        "还",
        "又",
        "再",
        "才",
        "要",
        "想",
        "能",
        "能不能",
        "可以",
        "可不可以",
        "会",
        "该",
        "应该",
        "需要",
        "得要",
        "怎么",
        "怎么办",
        "咋",
        "咋办",
        "咋整",
        "怎样",
        "怎么样",
        "如何",
        "什么",
        "啥",
        "哪",
        "哪里",
        "哪儿",
        "哪个",
        "为什么",
        "为啥",
        "请问",
        "问",
        "问问",
        "问一下",
        "你好",
        "您好",
        "咨询",
        "一下",
        "下",
        "这个",
        "那个",
        "这",
        "那",
        "这里",
        "那里",
        "个",
        "一",
        "不",
        "没",
        "没有",
        "给",
        "把",
        "被",
        "让",
        "到",
        "去",
        "来",
        "说",
        "好",
        "现在",
        "今天",
        "已经",
        "一直",
        "还是",
        "情况",
        "问题",
        "谁",
        "管",
        "找",
        "办",
        "办理",
        "反映",
        "投诉",
        "举报",
        "帮忙",
        "帮",
        "解决",
        "处理",
        "麻烦",
        "谢谢",
        "多少",
        "几",
        "多",
        "吗",
        "行",
        "行不行",
        "可",
        "能否",
        "是否",
        "然后",
    ]
)


def normalize(text: str) -> str:
    """Full-width to half-width, lower case: what callers type on phones varies."""
    return unicodedata.normalize("NFKC", text).lower()


def _is_term(token: str) -> bool:
    return bool(token.strip()) and any(ch.isalnum() for ch in token) and token not in STOPWORDS


def terms(tokens: Iterable[str]) -> list[str]:
    """Distinct meaningful tokens in order: no punctuation, spaces or stopwords."""
    seen: dict[str, None] = {}
    for token in tokens:
        word = token.strip()
        if _is_term(word):
            seen.setdefault(word, None)
    return list(seen)


def bigrams(text: str) -> list[str]:
    """Overlapping character pairs of the Chinese runs: partial-word matches."""
    out: list[str] = []
    run = ""
    for ch in [*text, " "]:
        if "\u4e00" <= ch <= "\u9fff":
            run += ch
            continue
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
        run = ""
    return out


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


MAX_POSITION = 16383  # PostgreSQL's limit for tsvector positions


def tsvector_literal(fields: Sequence[tuple[Sequence[str], str]]) -> str:
    """``'停水':1A,7C …`` from (tokens, weight A–D) per field; positions run on."""
    positions: dict[str, list[str]] = {}
    position = 0
    for tokens, weight in fields:
        for token in tokens:
            position = min(position + 1, MAX_POSITION)
            word = token.strip()
            if _is_term(word):
                positions.setdefault(word, []).append(f"{position}{weight}")
        position = min(position + 1, MAX_POSITION)  # fields do not run into each other
    return " ".join(f"{_lexeme(w)}:{','.join(p[:256])}" for w, p in positions.items())


def tsquery_literal(query_terms: Sequence[str]) -> str | None:
    """Any of the terms (``'a' | 'b'``): a caller's words rarely all appear in an answer."""
    if not query_terms:
        return None
    return " | ".join(_lexeme(t) for t in query_terms)


def snippet(text: str, query_terms: Sequence[str], *, width: int = 80) -> str:
    """HTML-escaped extract around the first matching term, terms in ``<mark>``."""
    longest_first = sorted({t for t in query_terms if t}, key=len, reverse=True)
    hits = [i for i in (text.find(t) for t in longest_first) if i >= 0]
    start = max(0, min(hits) - width // 4) if hits else 0
    end = min(len(text), start + width)
    extract = text[start:end]
    marked: list[str] = []
    i = 0
    while i < len(extract):
        term = next((t for t in longest_first if extract.startswith(t, i)), None)
        if term is None:
            marked.append(html.escape(extract[i]))
            i += 1
        else:
            marked.append(f"<mark>{html.escape(term)}</mark>")
            i += len(term)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + "".join(marked).replace("</mark><mark>", "") + suffix


def synonyms_in(text: str, groups: Sequence[Sequence[str]]) -> list[str]:
    """The words of every group one of whose words occurs in ``text``, except the ones
    already there: what the text also means (``户口`` → ``户籍``)."""
    out: dict[str, None] = {}
    for group in groups:
        if any(word in text for word in group):
            for word in group:
                if word not in text:
                    out.setdefault(word, None)
    return list(out)


def tsquery_with_alternatives(
    query_terms: Sequence[str], alternatives: Sequence[Sequence[str]]
) -> str | None:
    """Any of the terms, or any alternative: one lexeme, or all of a phrase's pieces
    (``'最低生活保障' | ('最低' & '生活' & '保障')``) for text indexed before the phrase
    was known."""
    parts = [_lexeme(t) for t in query_terms]
    for pieces in alternatives:
        clean = [p for p in dict.fromkeys(pieces) if p]
        if len(clean) == 1:
            parts.append(_lexeme(clean[0]))
        elif clean:
            parts.append("(" + " & ".join(_lexeme(p) for p in clean) + ")")
    return " | ".join(dict.fromkeys(parts)) if parts else None
