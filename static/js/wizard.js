/* Setup wizard: focus the first error, and show only the fields of the chosen answer.
   Progressive enhancement: without JavaScript every field shows and the server validates. */
(function () {
  "use strict";

  function focusFirstError() {
    var field = document.querySelector(".has-error input, .has-error select, .has-error textarea");
    if (field) { field.focus(); return; }
    var box = document.querySelector(".errorlist-box");
    if (box) { box.setAttribute("tabindex", "-1"); box.focus(); }
  }

  function toggleDependentFields() {
    var chooser = document.querySelectorAll("input[type=radio][name$='-choice']");
    if (!chooser.length) { return; }
    var dependents = document.querySelectorAll("[data-show-for]");
    function update() {
      var checked = document.querySelector("input[type=radio][name$='-choice']:checked");
      var value = checked ? checked.value : "";
      dependents.forEach(function (input) {
        var show = input.getAttribute("data-show-for").split(" ").indexOf(value) !== -1;
        var wrapper = input.closest(".field") || input;
        wrapper.hidden = !show;
      });
    }
    chooser.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    toggleDependentFields();
    focusFirstError();
  });
})();
