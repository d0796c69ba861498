"""A mammogram's result in plain words, for the patient (clinical-rules.md §1 categories,
§10 lay summary): what the result letter says under "Your result", and what a web page can
show her the same way.
"""

from __future__ import annotations

from followup.present.letter_blocks import Block, para
from followup.present.letter_facts import ExamResult


def side_phrase(side: str | None) -> str:
    """`` in your left breast`` (with its leading space), or nothing."""
    return {
        "left": " in your left breast",
        "right": " in your right breast",
        "bilateral": " in both breasts",
    }.get(side or "", "")


def result_paragraphs(result: ExamResult) -> tuple[Block, ...]:
    """The result in plain words (clinical-rules.md §1 categories, §10 lay summary)."""
    where = side_phrase(result.side)
    words = _RESULT_WORDS[result.category]
    text = words(result, where)
    blocks = [para(sentence) for sentence in text]
    if result.birads:
        blocks.append(
            para(f"For your records, the report calls this result BI-RADS {result.birads}.")
        )
    return tuple(blocks)


def _negative(result: ExamResult, where: str) -> tuple[str, ...]:
    return ("Your mammogram showed no signs of breast cancer.",)


def _benign(result: ExamResult, where: str) -> tuple[str, ...]:
    return (
        "Your mammogram showed no signs of breast cancer. The doctor who read it saw something"
        f"{where} that is benign, such as harmless spots of calcium. Benign means it is not "
        "cancer. It needs no care now.",
    )


def _probably_benign(result: ExamResult, where: str) -> tuple[str, ...]:
    return (
        f"The doctor who read your mammogram saw something{where} that is almost surely "
        "benign. Benign means it is not cancer. The chance that it is cancer is 2 in 100 or "
        "less.",
        "To be safe, the doctor wants to check that it does not change. That is why your next "
        "mammogram comes sooner than usual.",
    )


def _incomplete(result: ExamResult, where: str) -> tuple[str, ...]:
    return (
        "The doctor who read your mammogram needs more pictures to finish reading it. This is "
        "common. It does not mean that you have cancer. Most women who come back for more "
        "pictures have normal results.",
    )


def _incomplete_priors(result: ExamResult, where: str) -> tuple[str, ...]:
    return (
        "To finish reading your mammogram, the doctor needs to compare it with your earlier "
        "mammograms. This is common. It does not mean that you have cancer. The doctor will "
        "look for changes over time.",
    )


def _suspicious(result: ExamResult, where: str) -> tuple[str, ...]:
    sentences = [
        f"The doctor who read your mammogram saw an area{where} that needs a closer look. The "
        "next step is a biopsy. In a biopsy, a doctor takes a small sample of tissue with a "
        "needle, and a lab tests it.",
    ]
    if (result.birads or "").upper() in ("", "4", "4A", "4B"):
        sentences.append("Most biopsies like this do not find cancer.")
    sentences.append(_SECOND_OPINION)
    return tuple(sentences)


def _highly_suspicious(result: ExamResult, where: str) -> tuple[str, ...]:
    return (
        f"The doctor who read your mammogram saw an area{where} that may be cancer. A biopsy "
        "is the only way to know for sure. In a biopsy, a doctor takes a small sample of "
        "tissue with a needle, and a lab tests it. It is important to have it soon.",
        _SECOND_OPINION,
    )


def _known_malignancy(result: ExamResult, where: str) -> tuple[str, ...]:
    return (
        "This mammogram was done to check a breast cancer that was found before. Your care "
        "team will talk with you about it and about the next steps of your care.",
    )


def _post_procedure(result: ExamResult, where: str) -> tuple[str, ...]:
    return (
        "This mammogram was taken after your recent breast procedure. It shows where the small "
        "marker placed during the procedure sits. It does not change your follow-up plan.",
    )


_SECOND_OPINION = (
    "You can always ask for a second opinion. This means another doctor looks at your "
    "pictures. It is your right."
)
_RESULT_WORDS = {
    "negative": _negative,
    "benign": _benign,
    "probably-benign": _probably_benign,
    "incomplete": _incomplete,
    "incomplete-priors": _incomplete_priors,
    "suspicious": _suspicious,
    "highly-suspicious": _highly_suspicious,
    "known-malignancy": _known_malignancy,
    "post-procedure": _post_procedure,
}
