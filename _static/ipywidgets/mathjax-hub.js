/* The book's own (not part of the vendored html-manager; MIT like the book).
 *
 * ipywidgets 8 typesets every widget label with MathJax 2's API,
 * MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book runs MathJax 3, which has no
 * MathJax.Hub, so each label threw "Cannot read properties of undefined (reading 'Queue')" and
 * stopped the rest of that widget's rendering. This gives MathJax 3 a Hub.Queue that typesets
 * the element with MathJax 3 (labels like "$h$" render as math, as in JupyterLab).
 *
 * Loaded with embed.js on the pages that have widgets (nb_ipywidgets_js in _config.yml). The
 * book's MathJax is a deferred script and replaces window.MathJax (until then its
 * configuration) when it runs, before DOMContentLoaded; embed.js renders on "load", later.
 */
(function () {
  function addHub() {
    var mj = window.MathJax;
    if (!mj || !mj.version || mj.Hub) return;   // no MathJax, or MathJax 2 (has its own Hub)
    mj.Hub = {
      Queue: function (command) {
        var element = Array.isArray(command) ? command[2] : null;
        if (!element) return;
        var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
        ready.then(function () {
          if (mj.typesetPromise) return mj.typesetPromise([element]);
        }).catch(function (err) { console.warn("MathJax could not typeset a widget", err); });
      }
    };
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addHub);
  } else {
    addHub();
  }
  window.addEventListener("load", addHub);       // in case MathJax ran late
})();
