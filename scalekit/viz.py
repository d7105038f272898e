"""One plotting style and the few helpers the notebooks share.

Used by notebooks only; pattern modules never import it. Figures are small PNGs
(nbval skips PNG), and every interactive widget has a static twin: the notebook
calls the same function with fixed arguments in a compared cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd

COURSE_STYLE: Mapping[str, Any] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 72,
    "savefig.dpi": 72,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "legend.frameon": False,
    "figure.constrained_layout.use": True,
}


def use_course_style() -> None:
    """Apply the course's plot style (small, gridded, no top/right spines) and table style.

    Tables show their text in full: pandas would otherwise cut cells at 50 characters.
    """
    mpl.rcParams.update(COURSE_STYLE)
    pd.set_option("display.max_colwidth", None)


def subplots(ncols: int = 1, *, width: float = 7.0, height: float = 3.6, **kwargs: Any):
    """``plt.subplots`` in the course's proportions: one row of ``ncols`` axes."""
    return plt.subplots(1, ncols, figsize=(width, height), **kwargs)


def what_if(func: Callable[..., Any], **controls: Sequence[Any] | tuple[float, float, float]):
    """An ipywidgets control panel that re-runs ``func`` as sliders move.

    ``controls`` map argument names to ``(min, max, step)`` tuples (sliders) or
    lists (dropdowns). The widget's output depends on the learner, so its cell is
    tagged ``nbval-ignore-output``; the notebook shows the same ``func`` with fixed
    arguments in the next, compared cell.
    """
    import inspect

    import ipywidgets

    defaults = {
        name: param.default
        for name, param in inspect.signature(func).parameters.items()
        if param.default is not inspect.Parameter.empty
    }
    widgets = {}
    for name, spec in controls.items():
        if isinstance(spec, tuple) and len(spec) == 3 and all(isinstance(v, (int, float)) for v in spec):
            low, high, step = spec
            slider = ipywidgets.IntSlider if all(isinstance(v, int) for v in spec) else ipywidgets.FloatSlider
            value = defaults.get(name, low)
            widgets[name] = slider(min=low, max=high, step=step, value=value, continuous_update=False)
        else:
            options = list(spec)
            widgets[name] = ipywidgets.Dropdown(options=options, value=defaults.get(name, options[0]))
    return ipywidgets.interactive(func, **widgets)
