"""Drawing functions (pure: an Axes in, artists out) and thin widget explorers built on them.

Draw functions never call ``plt.show()`` and never create widgets; explorers
build their figure once and move its artists when a control changes (see
``convlab.viz._widgets``). Every explorer also has a static form for the book.
"""
