// The caller's earlier complaints, shown on the desk as the telecaller types the phone.
// Without this script the "Earlier complaints from this number" button posts the form to
// /desk/history and the desk comes back with them. The phone is posted, never put in an
// address; everything shown is set as text (no HTML from the answer).
(function () {
  "use strict";
  var phone = document.getElementById("citizen-phone");
  var box = document.getElementById("caller-history");
  var form = phone && phone.form;
  if (!phone || !box || !form || !window.fetch) { return; }
  var button = document.getElementById("history-button");
  if (button) { button.hidden = true; }  // shown as the phone is typed instead
  var timer = null;
  var asked = "";

  function digits(value) { return (value.match(/\d/g) || []).length; }

  function show(answer) {
    box.textContent = "";
    if (!answer.phone) { return; }
    var title = document.createElement("strong");
    title.textContent = box.dataset.title;
    box.appendChild(title);
    if (!answer.data.length) {
      var none = document.createElement("p");
      none.textContent = box.dataset.none;
      box.appendChild(none);
      return;
    }
    var list = document.createElement("ul");
    answer.data.forEach(function (c) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = c.href;
      link.textContent = c.registration_number;
      item.appendChild(link);
      item.appendChild(document.createTextNode(
        " · " + c.subject + " · " + c.status + " · " + c.registered));
      list.appendChild(item);
    });
    box.appendChild(list);
    if (answer.count > answer.data.length) {
      var more = document.createElement("p");
      more.className = "hint";
      more.textContent = box.dataset.more
        .replace("%(shown)d", answer.data.length).replace("%(count)d", answer.count);
      box.appendChild(more);
    }
  }

  function ask() {
    var value = phone.value.trim();
    if (digits(value) < 10 || value === asked) { return; }
    asked = value;
    var body = new FormData();
    body.append("csrf_token", form.elements["csrf_token"].value);
    body.append("citizen.phone", value);
    fetch("/desk/history.json", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { if (answer && phone.value.trim() === value) { show(answer); } })
      .catch(function () { asked = ""; });
  }

  phone.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 300);
  });
  phone.addEventListener("change", ask);
  if (phone.value) { ask(); }
})();
