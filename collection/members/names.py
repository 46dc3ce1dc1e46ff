"""Member names: how to display them, and the phonetic keys behind misspelling-tolerant name search.

Search works through an indexed key table: a name is split into tokens, each token becomes a phonetic key,
and a query matches on equal keys (the last query token also on key prefix, for type-ahead). Keys are
deliberately tolerant; ``similarity`` then ranks the candidates so that the closest spelling comes first.

``phonetic_key`` in three steps:

1. Old spelling (before the 1972 EYD reform) to new: oe→u (Soekarno), dj→j (Djoko), tj→c (Tjahjo),
   nj→ny (Njoman), sj→sy (Sjahrir), ch→kh (Chairul). Old j is new y (Tjahjo = Cahyo), and Javanese
   names swap -jo and -yo freely (Suharjo, Suharyo), so j and y are one sound: see step 3.
2. Loan spellings: kh→h (Arabic kh and h are written kh, ch or h: Akhmad = Achmad = Ahmad, Khairul =
   Choirul = Hairul; mapping to k instead would separate Achmad from Ahmad), dz→z (Dzulkifli), ts→s
   (Utsman), q→k (Taufiq), x→ks, z→s (Nurhaliza = Nurhalisa; not z→j, which would vanish in step 3),
   v→f. No rule is needed for ph, dh, th, gh or sy: h and y are silent after a consonant, p and f share a
   code, and the first letter treats p, f and v as one (Fitri = Pitri, Philip = Filip).
3. A Soundex code over the whole token, not cut to four characters: the first letter stays a letter,
   with f/p/v written F and j/y written Y (Jusuf = Yusuf, Johanes = Yohanes); initial vowels stay apart;
   then b f p v → 1, c g k q s x z → 2, d t → 3, l → 4, m n → 5, r → 6. Vowels, y and j separate codes
   (dropped, but the same code on either side is written twice); h and w are dropped without separating;
   adjacent repeats collapse.

Known misses: Chandra/Candra (ch reads as h), Zaenal/Jaenal, Umar/Omar (initial vowels stay apart), and
abbreviations of Muhammad (Moh., Muh., M.). Known collisions, left to the ranking: vowels vanish (Rina =
Rini, Fitri = Putri), and j and y vanish (Fajar = Fahri). A typed prefix that ends inside a digraph
("D" of "Djoko") may not be a prefix of the full key.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

KEY_MAX_LENGTH = 40  # the width of member_name_keys.key; query keys are cut alike, so they still match

# Titles written before a name, dropped from search tokens (not from the displayed name) while a name
# token remains: Haji/Hajjah, Kiai Haji, Insinyur, Doktor/dokter, Doktorandus/-a, Profesor, and the
# forms of address an agent may type (Bapak, Ibu, Saudara/i, Tuan, Nyonya, Nona).
LEADING_TITLES = frozenset(
    {"h", "hj", "haji", "hajah", "hajjah", "kh", "ir", "dr", "drs", "dra", "prof",
     "bpk", "bapak", "ibu", "sdr", "sdri", "tn", "ny", "nn"}
)  # fmt: skip

_OLD_SPELLING = (("oe", "u"), ("dj", "j"), ("tj", "c"), ("nj", "ny"), ("sj", "sy"), ("ch", "kh"))
_LOAN_SPELLING = (("kh", "h"), ("dz", "z"), ("ts", "s"), ("q", "k"), ("x", "ks"), ("z", "s"), ("v", "f"))
_FIRST_LETTER = {"p": "f", "v": "f", "j": "y"}
_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}
_SEPARATING = frozenset("aeiouyj")
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018`\u00b4\u02bc", "'"))
_CAPITAL_AFTER = frozenset("-.(")


def display_name(text: str) -> str:
    """The name as it should be shown: single spaces, each word capitalised ("siti NURHALIZA" → "Siti Nurhaliza").

    A letter is capitalised at the start of a word and after a hyphen, dot or bracket (Abdul-Rahman,
    S.Pd.); after an apostrophe it stays small, as the apostrophe marks a glottal stop (Ma'ruf, Nur'aini).
    """
    words = text.translate(_APOSTROPHES).split()
    return " ".join(_capitalise(word) for word in words)


def name_tokens(text: str) -> list[str]:
    """Lower-case ASCII search tokens of a name: accents and apostrophes removed, leading titles dropped.

    Punctuation, hyphens and digits separate tokens; degrees after a comma ("Siti, S.Pd.") are dropped.
    """
    tokens = _ascii_tokens(text.split(",", 1)[0]) or _ascii_tokens(text)
    while len(tokens) > 1 and tokens[0] in LEADING_TITLES:
        tokens.pop(0)
    return tokens


def phonetic_key(token: str) -> str:
    """The spelling-tolerant key of one name token, e.g. "Soekarno" and "Sukarno" → "S265"; "" if no letters."""
    word = _respell("".join(_ascii_tokens(token)))
    if not word:
        return ""
    first = _FIRST_LETTER.get(word[0], word[0])
    key = [first.upper()]
    last_code = _CODES.get(first)
    for char in word[1:]:
        code = _CODES.get(char)
        if code is not None:
            if code != last_code:
                key.append(code)
            last_code = code
        elif char in _SEPARATING:
            last_code = None
    return "".join(key)[:KEY_MAX_LENGTH]


def name_keys(text: str) -> list[str]:
    """The distinct phonetic keys of a name's tokens, in the order the tokens come."""
    keys = (phonetic_key(token) for token in name_tokens(text))
    return list(dict.fromkeys(key for key in keys if key))


def similarity(a: str, b: str) -> float:
    """How alike two names are, 0 to 1, to rank candidates that share keys: the same spelling scores highest.

    The mean of two difflib ratios on the search tokens, as written and respelled (steps 1 and 2 of the
    key), so an old spelling (Soekarno for Sukarno) ranks above a different name (Sukarni) but below the
    exact one.
    """
    return Likeness(a).score(b)


class Likeness:
    """``similarity(query, name)`` for many names against one query: the query's forms are worked out once, each
    name's score is remembered (common names come back many times in one search), and ``bound`` gives a cheap upper
    limit of the score, so a ranking need not score the names that cannot reach the page.

    The bound puts the longest common subsequence in place of difflib's matching characters: difflib's matching
    blocks run in order through both strings, so they never hold more characters than that subsequence, and its
    length takes a few integer operations per character (Allison and Dix's bit-parallel method)."""

    def __init__(self, query: str) -> None:
        self.query = query
        tokens = name_tokens(query)
        self._empty = not tokens
        self._forms_of_query = (" ".join(tokens), " ".join(map(_respell, tokens)))
        self._matchers = [difflib.SequenceMatcher(None, form, "", autojunk=False) for form in self._forms_of_query]
        self._masks = [_letter_masks(form) for form in self._forms_of_query]
        self._forms: dict[str, tuple[str, str]] = {}
        self._scores: dict[str, float] = {}
        self._bounds: dict[str, float] = {}

    def score(self, name: str) -> float:
        """similarity(query, name)."""
        known = self._scores.get(name)
        if known is None:
            forms = self._forms_of(name)
            if self._empty and not forms[0]:
                known = 1.0 if self.query.strip() == name.strip() else 0.0
            else:
                ratios = []
                for matcher, form in zip(self._matchers[: self._sides(forms)], forms, strict=False):
                    matcher.set_seq2(form)
                    ratios.append(matcher.ratio())
                known = (ratios[0] + ratios[-1]) / 2
            self._scores[name] = known
        return known

    def bound(self, name: str) -> float:
        """A number never below ``score(name)``, in a small part of its time."""
        known = self._bounds.get(name)
        if known is None:
            forms = self._forms_of(name)
            if self._empty and not forms[0]:
                known = 1.0
            else:
                ratios = []
                sides = self._sides(forms)
                for masks, query_form, form in zip(self._masks[:sides], self._forms_of_query, forms, strict=False):
                    length = len(query_form) + len(form)
                    ratios.append(2.0 * _common_subsequence(masks, len(query_form), form) / length if length else 1.0)
                known = (ratios[0] + ratios[-1]) / 2
            self._bounds[name] = known
        return known

    def _sides(self, forms: tuple[str, str]) -> int:
        """2, or 1 when the query and the name read the same respelled (their two ratios are then one)."""
        query = self._forms_of_query
        return 1 if query[0] == query[1] and forms[0] == forms[1] else 2

    def _forms_of(self, name: str) -> tuple[str, str]:
        """A name's search tokens, as written and respelled (as ``similarity`` compares them)."""
        forms = self._forms.get(name)
        if forms is None:
            tokens = name_tokens(name)
            forms = self._forms[name] = (" ".join(tokens), " ".join(map(_respell, tokens)))
        return forms


def _letter_masks(text: str) -> dict[str, int]:
    """For each character, the bits of its positions in ``text``."""
    masks: dict[str, int] = {}
    for position, char in enumerate(text):
        masks[char] = masks.get(char, 0) | 1 << position
    return masks


def _common_subsequence(masks: dict[str, int], length: int, other: str) -> int:
    """The length of the longest common subsequence of a text (its ``masks`` and ``length``) and ``other``."""
    full = (1 << length) - 1
    row = full
    for char in other:
        matched = row & masks.get(char, 0)
        row = ((row + matched) | (row - matched)) & full
    return length - row.bit_count()


def _respell(word: str) -> str:
    """A lower-case ASCII word in new spelling, with loan spellings reduced (steps 1 and 2 of the key)."""
    for old, new in _OLD_SPELLING + _LOAN_SPELLING:
        word = word.replace(old, new)
    return word


def _ascii_tokens(text: str) -> list[str]:
    """Runs of ASCII letters, lower-cased, after accents and apostrophes are removed."""
    text = text.translate(_APOSTROPHES).replace("'", "")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z]+", ascii_text.lower())


def _capitalise(word: str) -> str:
    """One word with a capital at its start and after - . ( and small letters elsewhere."""
    out = []
    capital_next = True
    for char in word:
        out.append(char.upper() if capital_next else char.lower())
        if char.isalpha():
            capital_next = False
        elif char in _CAPITAL_AFTER:
            capital_next = True
    return "".join(out)
