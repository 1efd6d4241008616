"""Explorers drawn in the browser, and the static figures of the notebooks.

Every explorer is an anywidget view (``_view.py``, an ES module in ``js/`` drawing SVG from the widget's
traits) under ipywidgets controls linked in the browser, so every control works the same in JupyterLab,
in the static book and in the reveal.js decks, with no kernel: nothing is pre-rendered. Each view has a
``drawn_numbers()`` that computes with convlab what it draws (the browser tests compare the two); the
quizzes (``predict.py``) carry their answers and diagnoses in the widget state.

The static figures (``transpose.draw_*``, notebooks 05a/05b) are plain matplotlib, public API only:
pure functions of an Axes that draw and return their artists.
"""
