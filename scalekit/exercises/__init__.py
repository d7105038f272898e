"""Check functions for the notebooks' exercises.

Each notebook has its own module (``scalekit.exercises.scalability`` for notebook 01,
and so on). A check returns a :class:`Feedback`: truthy when the answer is right,
and always a sentence that says what is right or what is wrong.
"""

from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong

__all__ = ["Feedback", "check_number", "correct", "not_answered", "wrong"]
