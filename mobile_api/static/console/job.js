// The job page follows its job on the worker: poll the small JSON document, update the
// progress, and reload once the job is final so the server renders its report.
(function () {
  "use strict";
  var panel = document.getElementById("job");
  if (!panel || panel.getAttribute("data-final") === "true") return;
  var url = panel.getAttribute("data-progress-url");
  var bar = document.getElementById("job-progress");
  var done = document.getElementById("job-done");
  var total = document.getElementById("job-total");
  var status = document.getElementById("job-status");
  var message = document.getElementById("job-message");
  var delay = 500;

  function show(doc) {
    if (doc.percent !== null && doc.percent !== undefined) bar.value = doc.percent;
    else bar.removeAttribute("value");
    done.textContent = doc.done.toLocaleString();
    total.textContent = doc.total === null ? "…" : doc.total.toLocaleString();
    status.textContent = doc.status_label;
    message.textContent = doc.message || "";
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (doc) {
        show(doc);
        if (doc.final) { window.location.reload(); return; }
        delay = Math.min(delay * 1.5, 3000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, delay);
})();
