"""Prompt-lookup drafting: guess the next tokens by finding the last few tokens earlier in the text.

An edit answer copies long runs of the prompt (the current artifact) and of itself. When the
last ``n`` tokens also occur earlier, the tokens that followed them there are a cheap draft of
what comes next (Saxena's "prompt lookup decoding"). The engine verifies a draft in one forward
pass and keeps the longest prefix the model agrees with, so the output is the model's own.

:class:`NgramDrafter` keeps an index of every n-gram's latest follower, updated as tokens are
appended, so a draft costs a few dict look-ups however long the context is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_NGRAM = 3
DEFAULT_MIN_NGRAM = 2
DEFAULT_NUM_DRAFT = 10


@dataclass(slots=True)
class DraftStats:
    """What speculation did in one answer.

    Attributes:
        steps: verify forwards that carried at least one draft token.
        drafted: draft tokens proposed.
        accepted: draft tokens the model agreed with (each one a forward pass saved).
    """

    steps: int = 0
    drafted: int = 0
    accepted: int = 0

    def add(self, drafted: int, accepted: int) -> None:
        if drafted:
            self.steps += 1
            self.drafted += drafted
            self.accepted += accepted


class NgramDrafter:
    """Drafts from the text so far (prompt + answer) by n-gram match, the most recent match first.

    Args:
        tokens: the ids so far (the prompt).
        max_ngram: the longest suffix looked up (tried first).
        min_ngram: the shortest suffix looked up.
        num_draft: the most tokens one draft holds.
    """

    def __init__(
        self,
        tokens: Iterable[int] = (),
        *,
        max_ngram: int = DEFAULT_MAX_NGRAM,
        min_ngram: int = DEFAULT_MIN_NGRAM,
        num_draft: int = DEFAULT_NUM_DRAFT,
    ) -> None:
        if not 1 <= min_ngram <= max_ngram:
            raise ValueError("need 1 <= min_ngram <= max_ngram")
        self.max_ngram, self.min_ngram = max_ngram, min_ngram
        self.num_draft = max(1, num_draft)
        self.tokens: list[int] = []
        # n-gram -> the position just after its latest occurrence that has a follower
        self._next: dict[tuple[int, ...], int] = {}
        self.extend(tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        """Append ids (the prompt, then each accepted token)."""
        seq, index = self.tokens, self._next
        for tok in tokens:
            j = len(seq)
            for n in range(self.min_ngram, self.max_ngram + 1):
                if j >= n:
                    index[tuple(seq[j - n : j])] = j
            seq.append(int(tok))

    def draft(self, limit: int | None = None) -> list[int]:
        """The ids that followed the longest matching suffix last time (empty when none matches)."""
        seq = self.tokens
        k = self.num_draft if limit is None else min(limit, self.num_draft)
        if k <= 0:
            return []
        for n in range(min(self.max_ngram, len(seq)), self.min_ngram - 1, -1):
            pos = self._next.get(tuple(seq[-n:]))
            if pos is not None:
                return seq[pos : pos + k]
        return []


def accepted_prefix(draft: list[int], picked: list[int]) -> int:
    """How many draft ids the model's own picks confirm (``picked[i]`` is its choice after draft[:i])."""
    n = 0
    for d, p in zip(draft, picked, strict=False):
        if d != p:
            break
        n += 1
    return n


def same_vocabulary(a: str | Path, b: str | Path) -> bool:
    """Whether two model folders' tokenizers give every token the same id (a draft's condition).

    Compares tokenizer.json's vocabulary and added tokens: Qwen2.5-Coder-0.5B and 7B share them
    although their embedding tables differ in size (151,936 and 152,064 rows of padding).
    """

    def table(folder: str | Path) -> tuple[object, object]:
        data = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
        added = sorted((t["id"], t["content"]) for t in data.get("added_tokens", []))
        return data["model"].get("vocab"), added

    try:
        return table(a) == table(b)
    except (OSError, ValueError, KeyError, TypeError):
        return False


__all__ = ["DraftStats", "NgramDrafter", "accepted_prefix", "same_vocabulary"]
