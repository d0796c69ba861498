"""The patient's next step from her breasts' plans (clinical-rules.md §2).

- ``known-malignancy`` or a malignant biopsy on either breast puts her on ``treatment``: out
  of interval tracking, no due date, and no side to image (laterality None, as cli.md's
  "null when no side applies"; the breast plans say which breast).
- Otherwise the next step is the breast plan due first; on the same day, the more urgent.
- When both breasts' plans are the same action on the same day, the step is ``bilateral``.
- The other breast's plan, when it differs, is reported in ``also`` so that nothing hides
  behind the earlier date. It is left out only when the next step already covers it: the same
  action, on both breasts (a bilateral routine screening, say, re-images the other breast,
  whose later routine screening would never happen).
"""

from __future__ import annotations

from collections.abc import Sequence

from followup.rules.categories import URGENCY, WORRY_OF
from followup.rules.model import BreastPlan, make_breast_plan
from followup.rules.vocabulary import Laterality

_LEFT, _RIGHT, _BILATERAL = Laterality.LEFT, Laterality.RIGHT, Laterality.BILATERAL


def next_step(plans: Sequence[BreastPlan]) -> tuple[BreastPlan, tuple[BreastPlan, ...]]:
    """The patient's next step (a breast plan, or both merged) and the ``also`` list."""
    if len(plans) == 1:
        return plans[0], ()
    first, other = plans
    if first[1:] == other[1:]:  # one state, one step (see Course.same_state): one bilateral
        return first, ()
    if _comes_first(other, first):
        first, other = other, first
    if first.action == other.action and first.due == other.due:
        return _merged(first, other), ()
    if first.action == other.action and first.laterality is _BILATERAL:
        return first, ()
    return first, (other,)


def _comes_first(plan: BreastPlan, other: BreastPlan) -> bool:
    """Treatment first; then the one due first; then the more urgent; then the more
    worrisome assessment (left before right only when nothing else tells them apart)."""
    if (plan.action == "treatment") is not (other.action == "treatment"):
        return plan.action == "treatment"
    if plan.due != other.due:
        return plan.due is not None and other.due is not None and plan.due < other.due
    urgency, others = URGENCY[plan.action or ""], URGENCY[other.action or ""]
    if urgency != others:
        return urgency > others
    return _worry(plan) > _worry(other)


def _worry(plan: BreastPlan) -> int:
    if plan.category is None:
        return -100
    return WORRY_OF[plan.category] + (plan.subdivision.worry if plan.subdivision else 0)


def _merged(first: BreastPlan, other: BreastPlan) -> BreastPlan:
    """One bilateral step for both breasts; its facts are those of the more worrisome one
    (``first``, by :func:`_comes_first`). Its reason is that breast's when both count from the
    same exam (a benign finding on one breast, the other negative: "benign: routine ..."),
    else it says both."""
    reason = first.reason
    if (first.exam_id, first.exam_date, first.biopsy_id) != (
        other.exam_id,
        other.exam_date,
        other.biopsy_id,
    ):
        reason = f"{first.side.value}: {first.reason}; {other.side.value}: {other.reason}"
    laterality = None if first.action == "treatment" else _BILATERAL  # treatment: no side
    opened = first.biopsy_open or other.biopsy_open
    if laterality is first.laterality and reason is first.reason and opened is first.biopsy_open:
        return first  # a routine screening already is bilateral
    return make_breast_plan((*first[:3], laterality, reason, *first[5:12], opened, *first[13:]))


def mirrored(plan: BreastPlan) -> BreastPlan:
    """The same step for the right breast as ``plan`` is for the left (both breasts in the
    same state, see :meth:`followup.rules.breasts.Course.same_state`)."""
    laterality = _RIGHT if plan.laterality is _LEFT else plan.laterality
    return make_breast_plan((_RIGHT, plan[1], plan[2], laterality, *plan[4:]))
