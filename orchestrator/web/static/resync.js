// Check dependencies: choosing an object marks every object it depends on (its parents, theirs, ...).
// Each option carries its dependency closure from the object catalog (data-needs), the same one
// `resync objects --tree` prints and the lineage test holds equal to dbt's graph.
(function () {
  function markDependencies() {
    var objects = document.getElementById("objects");
    var check = document.getElementById("check-dependencies");
    var summary = document.getElementById("dependency-summary");
    if (!objects || !check) return;
    var needed = {};
    if (check.checked) {
      Array.prototype.forEach.call(objects.selectedOptions, function (option) {
        (option.dataset.needs || "").split(" ").forEach(function (name) {
          if (name) (needed[name] = needed[name] || []).push(option.value);
        });
      });
    }
    var added = [];
    Array.prototype.forEach.call(objects.options, function (option) {
      var by = needed[option.value];
      var marked = !!by && !option.selected;
      option.classList.toggle("dependency", marked);
      option.textContent = option.value + (marked ? "  \u2190 needed by " + by.join(", ") : "");
      if (marked) added.push(option.value);
    });
    if (summary) {
      summary.textContent = added.length
        ? "Check dependencies adds " + added.length + " object" + (added.length === 1 ? "" : "s") +
          ", resynced first: " + added.join(", ") + "."
        : "";
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target && (event.target.id === "objects" || event.target.id === "check-dependencies")) {
      markDependencies();
    }
  });
  document.addEventListener("DOMContentLoaded", markDependencies);

  // The confirmation's Cancel closes it; nothing was queued.
  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "confirm-cancel") {
      document.getElementById("confirmation").innerHTML = "";
    }
  });
})();
