"""The Explorer's static figure: what the HTML book, nbval and GitHub show of a live explorer."""
import base64
import io

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from cnnlab.widgets.base import Explorer


def _draw(n):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(np.arange(n))
    return fig


def _explorer(**kwargs):
    return Explorer("Line", {"n": widgets.IntSlider(value=3, min=2, max=9)}, _draw, **kwargs)


def test_static_figure_is_opaque_under_a_transparent_figure_facecolor():
    """Jupyter's inline backend makes figures transparent; on a dark theme their black text would vanish."""
    with matplotlib.rc_context({"figure.facecolor": (1, 1, 1, 0), "savefig.transparent": False}):
        bundle = _explorer()._repr_mimebundle_()
    image = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))).convert("RGBA")
    assert np.asarray(image)[..., 3].min() == 255


def test_hint_is_shown_live_and_in_the_static_figure():
    hinted, plain = _explorer(hint="move n to lengthen the line"), _explorer()
    assert "move n to lengthen the line" in hinted.widget.children[0].value
    assert "change n" in plain.widget.children[0].value  # the default hint names the controls
    hinted_png = Image.open(io.BytesIO(base64.b64decode(hinted._repr_mimebundle_()["image/png"])))
    plain_png = Image.open(io.BytesIO(base64.b64decode(plain._repr_mimebundle_()["image/png"])))
    assert hinted_png.size != plain_png.size or not np.array_equal(np.asarray(hinted_png), np.asarray(plain_png))


def test_hint_must_be_text():
    with pytest.raises(TypeError, match="hint"):
        _explorer(hint=3)
