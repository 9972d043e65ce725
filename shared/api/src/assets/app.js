// Progressive enhancement only: every page works without this script.
// Keeps the top metrics current while the dashboard stays open.
(function () {
  "use strict";
  var metrics = document.querySelectorAll("[data-metric]");
  if (!metrics.length || !window.fetch) { return; }
  function refresh() {
    fetch("/view/summary", { credentials: "same-origin", headers: { "accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (summary) {
        if (!summary) { return; }
        metrics.forEach(function (el) {
          var value = summary[el.getAttribute("data-metric")];
          var shown = el.querySelector(".value");
          if (shown && typeof value === "number") { shown.textContent = String(value); }
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 30000);
})();
