"""convlab.viz._widgets: the frame renderer (cached text bitmaps), the PNG writer and axes snapshots."""
import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from PIL import Image  # noqa: E402

from convlab.viz import _widgets as Wd  # noqa: E402
from convlab.viz._cells import Cells, add_labels, prepare_axes  # noqa: E402


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def plain_agg(fig):
    """The figure drawn by matplotlib's own RendererAgg (text glyph by glyph)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


def ink_box(img):
    rows, cols = np.nonzero((img < 200).any(axis=2))
    return rows.min(), rows.max(), cols.min(), cols.max()


@pytest.mark.parametrize("alpha", [255, 128])
def test_encode_png_round_trip(alpha, rng):
    rgba = rng.integers(0, 256, (9, 13, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    rgba[0, 0, 3] = 255
    back = np.asarray(Image.open(io.BytesIO(Wd.encode_png(rgba))))
    assert back.shape == (9, 13, 4) and np.array_equal(back, rgba)        # RGBA, opaque or not
    view = rgba[:, ::2]                                                     # a strided view is copied first
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(Wd.encode_png(view)))), view)


def text_figure():
    fig = Wd.new_figure(4, 2)
    fig.set_layout_engine(None)        # (the constrained layout would move the axes between two draws)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.0, 0.9, "⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = 24", family="monospace")
    ax.text(0.0, 0.5, "y[0, 2] = 6·(-1)\n  = -14", weight="bold", fontsize=11)
    ax.text(0.7, 0.1, "√k ✓ 0.125", color="red", ha="center")
    return fig


def test_frame_renderer_draws_text_where_matplotlib_does():
    Wd.clear_text_cache()
    fig = text_figure()
    fast = pixels(Wd.render_png(fig))
    assert len(Wd._TEXT_CACHE) == 4                   # one bitmap per line of text
    slow = plain_agg(fig)
    assert fast.shape == slow.shape
    # the same ink in the same place: strings land on whole pixels (as up to matplotlib 3.10), at most
    # half a pixel from matplotlib 3.11's sub-pixel placement
    assert np.abs(np.array(ink_box(fast)) - np.array(ink_box(slow))).max() <= 1
    assert abs(fast.mean() - slow.mean()) < 0.5
    red = lambda img: ((img[..., 0] > 150) & (img[..., 1] < 100)).sum()      # noqa: E731
    assert red(fast) > 20 and abs(red(fast) - red(slow)) <= 0.3 * red(slow)
    # drawn again from the cache: same pixels, no new bitmap
    assert np.array_equal(pixels(Wd.render_png(fig)), fast)
    assert len(Wd._TEXT_CACHE) == 4


def test_frame_renderer_leaves_rotated_text_to_matplotlib():
    Wd.clear_text_cache()
    fig = Wd.new_figure(2, 2)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, "count", rotation=90)
    fast = pixels(Wd.render_png(fig))
    assert len(Wd._TEXT_CACHE) == 0
    assert np.array_equal(fast, plain_agg(fig))


def test_snapshot_keeps_texts_outside_the_axes_and_live_artists_move():
    fig = Wd.new_figure(4, 3)
    fig.set_layout_engine(None)
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.text(0, 11.5, "a heading above the axes box", clip_on=False, in_layout=False)
    static = ax.text(2, 2, "static")
    live = ax.text(5, 5, "live 0")
    before = pixels(Wd.render_png(fig))
    Wd.snapshot_axes(ax, [live])
    assert not static.get_visible() and live.get_visible()
    assert np.abs(pixels(Wd.render_png(fig)) - before).max() <= 2
    live.set_text("live 1")                            # a live artist redraws over the picture
    moved = pixels(Wd.render_png(fig))
    assert np.abs(moved - before).max() > 100
    Wd.release_snapshot(ax)
    assert static.get_visible()
    assert np.abs(pixels(Wd.render_png(fig)) - moved).max() <= 2


# --------------------------------------------------------------------------- many labels, one artist

@pytest.mark.parametrize("ha,va,size,weight", [("center", "center", 9, None), ("left", "bottom", 5.5, None),
                                               ("right", "top", 10, "bold")])
def test_labels_draw_the_pixels_of_texts(ha, va, size, weight):
    """A Labels artist lands every string where a Text with the same properties does (multi-line too)."""
    xy = [(c + 0.5, r + 0.5) for r in range(6) for c in range(6)]
    strings = [f"{(r * 7 + c) % 13 - 4}" + ("\n.5" if (r + c) % 5 == 0 else "") for r in range(6) for c in range(6)]
    strings[3] = ""                                  # an empty label draws nothing
    colors = ["#222222" if i % 3 else "#8a5a00" for i in range(36)]

    def draw(kind):
        fig = Wd.new_figure(3, 3)
        fig.set_layout_engine(None)
        ax = fig.add_subplot()
        ax.set_xlim(0, 6)
        ax.set_ylim(6, 0)
        ax.set_axis_off()
        if kind == "texts":
            artists = [ax.text(x, y, s, ha=ha, va=va, fontsize=size, fontweight=weight, color=c)
                       for (x, y), s, c in zip(xy, strings, colors)]
        else:
            artists = add_labels(ax, fontsize=size, fontweight=weight, ha=ha, va=va)
            artists.set_labels(xy, strings, colors)
        return pixels(Wd.render_png(fig)), fig, artists

    slow, fig_t, texts = draw("texts")
    fast, fig_l, labels = draw("labels")
    assert np.array_equal(fast, slow) and slow.min() < 100
    renderer = Wd.frame_canvas(fig_t).get_renderer()
    expected = Bbox.union([t.get_window_extent(renderer) for t in texts if t.get_text()])
    assert np.allclose(labels.get_window_extent(Wd.frame_canvas(fig_l).get_renderer()).bounds, expected.bounds)
    assert labels.get_texts() == strings and labels.get_offsets().shape == (36, 2)
    labels.set_labels(xy[:2], ["a", "b"])            # new strings, fewer of them
    assert labels.get_texts() == ["a", "b"]
    with pytest.raises(ValueError, match="2 labels but 3 colours"):
        labels.set_labels(xy[:2], ["a", "b"], ["red", "green", "blue"])


def test_cells_draw_the_pixels_of_an_image_of_their_colours():
    """Cells paints its colours with a QuadMesh: the pixels of ``imshow(..., interpolation="nearest")``."""
    colors = np.random.default_rng(0).random((4, 7, 4))
    colors[..., 3] = 1

    def draw(kind, limits):
        fig = Wd.new_figure(3.3, 3.1)
        fig.set_layout_engine(None)
        ax = prepare_axes(fig.add_subplot())
        if kind == "image":
            ax.imshow(colors, extent=(1.5, 8.5, 6, 2), interpolation="nearest")
        else:
            cells = Cells(ax)
            cells.show(np.zeros((2, 9)), np.zeros((2, 9, 4)), origin=(0, 0))     # a larger grid first
            cells.show(np.zeros((4, 7)), colors, labels=False, origin=(1.5, 2))
            cells.edges.set_visible(False)
            assert np.allclose(cells.colors(), colors) and cells.bounds() == (1.5, 2.0, 7, 4)
        ax.set_xlim(*limits)
        ax.set_ylim(limits[1], limits[0])
        return pixels(Wd.render_png(fig))

    for limits in [(-0.3, 12.4), (-0.17, 10.93), (0, 30)]:
        assert np.abs(draw("cells", limits) - draw("image", limits)).max() <= 2
