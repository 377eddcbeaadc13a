/* Setup wizard: show only the fields of the chosen answer (js/form-errors.js focuses the first
   error). Progressive enhancement: without JavaScript every field shows and the server validates. */
(function () {
  "use strict";

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

  document.addEventListener("DOMContentLoaded", toggleDependentFields);
})();
