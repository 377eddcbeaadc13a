/* A form sent back with errors: move the focus to the first field to correct (or to the error
   summary), so keyboard and screen-reader users land on it rather than at the top of the page.
   Loaded by the setup wizard's and the service setup's layouts. */
(function () {
  "use strict";

  function focusFirstError() {
    var field = document.querySelector(".has-error input, .has-error select, .has-error textarea");
    if (field) { field.focus(); return; }
    var box = document.querySelector(".errorlist-box");
    if (box) { box.setAttribute("tabindex", "-1"); box.focus(); }
  }

  document.addEventListener("DOMContentLoaded", focusFirstError);
})();
