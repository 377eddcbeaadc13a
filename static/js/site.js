/* Shared by every page (templates/base.html).
   A table wider than the screen scrolls inside its wrapper (.table-wrap, .table-scroll): make that
   wrapper reachable with the keyboard and name it, so it can be scrolled without a mouse
   (WCAG 2.1.1; axe-core's scrollable-region-focusable). */
(function () {
  "use strict";

  function labelFor(wrapper) {
    var caption = wrapper.querySelector("caption");
    if (caption && caption.textContent.trim()) { return caption.textContent.trim(); }
    var node = wrapper.previousElementSibling;
    while (node) {
      if (/^H[1-6]$/.test(node.tagName)) { return node.textContent.trim(); }
      node = node.previousElementSibling;
    }
    var heading = document.querySelector("main h1");
    return heading ? heading.textContent.trim() : "";
  }

  function markScrollable() {
    document.querySelectorAll(".table-wrap, .table-scroll").forEach(function (wrapper) {
      if (wrapper.scrollWidth > wrapper.clientWidth + 1) {
        wrapper.setAttribute("tabindex", "0");
        wrapper.setAttribute("role", "region");
        if (!wrapper.hasAttribute("aria-label")) { wrapper.setAttribute("aria-label", labelFor(wrapper)); }
      } else if (wrapper.getAttribute("tabindex") === "0") {
        wrapper.removeAttribute("tabindex");
        wrapper.removeAttribute("role");
      }
    });
  }

  /* A field's error message (templates/includes/form.html: id="<field id>_error") is read
     with the field, after its help text: Django only links the help text. */
  function describeErrors() {
    document.querySelectorAll("[id$='_error']").forEach(function (error) {
      var control = document.getElementById(error.id.replace(/_error$/, ""));
      if (!control) { return; }
      var ids = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (ids.indexOf(error.id) === -1) { ids.push(error.id); }
      control.setAttribute("aria-describedby", ids.join(" "));
    });
  }

  document.addEventListener("DOMContentLoaded", describeErrors);
  document.addEventListener("DOMContentLoaded", markScrollable);
  window.addEventListener("resize", markScrollable);
})();
