// Buttons marked data-once are disabled once their form is submitted, so a double click sends
// one request. The server does not rely on it: deploying twice still starts billing once.
document.addEventListener("submit", function (event) {
  var form = event.target;
  form.querySelectorAll("button[data-once]").forEach(function (button) {
    window.setTimeout(function () { button.disabled = true; }, 0);
  });
});
