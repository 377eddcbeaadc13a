// Enterprise settings: "Check availability" and the suggestions answer in place, without
// reloading the page. Without JavaScript the same buttons post the form and the page comes back
// with the same answer (onboarding/service_views.py: enterprise_step).
(function () {
  var form = document.querySelector("form.subdomain-form");
  if (!form || !window.fetch || !window.DOMParser) return;
  var input = form.querySelector("input[name=subdomain]");

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=check], button[name=pick]");
    if (!button) return;
    event.preventDefault();
    var data = new FormData(form);
    data.append(button.name, button.value);
    button.disabled = true;
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST", body: data, credentials: "same-origin"
    }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("form.subdomain-form");
      if (!fresh) { form.submit(); return; }
      var freshInput = fresh.querySelector("input[name=subdomain]");
      input.value = freshInput.value;
      ["aria-invalid", "aria-describedby"].forEach(function (name) {
        if (freshInput.hasAttribute(name)) input.setAttribute(name, freshInput.getAttribute(name));
        else input.removeAttribute(name);
      });
      input.closest(".field").className = freshInput.closest(".field").className;
      form.querySelector(".availability").innerHTML = fresh.querySelector(".availability").innerHTML;
      input.focus();
    }).catch(function () {
      // Network trouble: fall back to an ordinary form post of the same button.
      var fallback = document.createElement("input");
      fallback.type = "hidden"; fallback.name = button.name; fallback.value = button.value;
      form.appendChild(fallback);
      form.submit();
    }).finally(function () { button.disabled = false; });
  });
})();
