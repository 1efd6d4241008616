// Loaded before the ipywidgets renderer (vendor/html-manager/embed-amd.js) in the book and the slides.
(function () {
  // 1. The renderer's style sheets find their fonts (Font Awesome: the Play widget's icons) beside its
  //    require.js modules, which require.js would place relative to the page (404s). Map the modules
  //    into vendor/html-manager/ (this file sits in vendor/ and loads before require.js).
  var here = (document.currentScript ? document.currentScript.src : '').replace(/[^\/]*$/, '');
  var paths = {'@jupyter-widgets/html-manager/dist': here + 'html-manager'};
  ['base', 'controls', 'output', 'html-manager'].forEach(function (m) {
    paths['@jupyter-widgets/' + m] = here + 'html-manager/' + m;
  });
  //    The explorers are anywidgets: their views are ES modules kept in the widget state, run by the
  //    module `anywidget`, whose AMD bundle (from the anywidget wheel) build_book.sh copies beside this file.
  paths.anywidget = here + 'anywidget';
  if (typeof window.require === 'function' && window.require.config) window.require.config({paths: paths});
  else window.require = {paths: paths};
  window.__jupyter_widgets_assets_path__ = here + 'html-manager/';

  // 2. The renderer typesets widget labels with MathJax 2's API (MathJax.Hub.Queue) whenever a
  //    window.MathJax exists; the pages use MathJax 3, which has no Hub. Give any MathJax object
  //    assigned to window (the config, then MathJax 3 itself) a Hub.Queue that MathJax 3 can serve.
  function addHub(mj) {
    if (!mj || typeof mj !== 'object' || mj.Hub) return;
    Object.defineProperty(mj, 'Hub', {
      enumerable: false, configurable: true,
      value: {Queue: function (job) {
        var el = job && job[2], m = window.MathJax;
        if (el && m && typeof m.typesetPromise === 'function') m.typesetPromise([el]).catch(function () {});
      }}
    });
  }
  // 3. The book theme's Font Awesome script swaps every <i class="fa ..."> added to the page for an
  //    <svg>, including the Play widget's icon, whose view then throws when it sets the icon's class;
  //    that error stops the jslink from the slider to the frames. Widgets use their own icon font,
  //    so the theme's script converts the icons present at load and then leaves the page alone.
  window.FontAwesomeConfig = Object.assign({}, window.FontAwesomeConfig, {observeMutations: false});

  var current = window.MathJax;
  addHub(current);
  Object.defineProperty(window, 'MathJax', {
    configurable: true,
    get: function () { return current; },
    set: function (v) { current = v; addHub(v); }
  });
})();
