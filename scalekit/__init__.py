"""scalekit: the small, tested helper package behind the Scalability Patterns course.

Each module holds one concept (see DESIGN.md); notebooks import what they need, e.g.
``from scalekit import backend, models``.
"""

__version__ = "0.1.0"
