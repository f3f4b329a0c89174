/* Small conveniences for forms; every form works without them. */
(function () {
  // A file input is hidden behind a Chinese button; the names of the chosen files are shown beside it
  // (the browser's own "Choose Files / No file chosen" text follows the browser's language, not the page's).
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input || input.type !== "file") return;
    var box = input.closest(".files");
    var out = box && box.querySelector(".picked");
    if (!out) return;
    var names = [];
    box.querySelectorAll('input[type="file"]').forEach(function (i) {
      for (var k = 0; k < i.files.length; k++) names.push(i.files[k].name);
    });
    out.textContent = names.length ? "已选择：" + names.join("、") : "未选择文件";
  });
  // Ticking the header box of a list ticks every row.
  document.addEventListener("change", function (e) {
    var all = e.target;
    if (!all || !all.matches || !all.matches("input[data-check-all]")) return;
    document.querySelectorAll('input[type="checkbox"][name="' + all.getAttribute("data-check-all") + '"]').forEach(function (b) {
      b.checked = all.checked;
    });
  });
  // 配合单位: a filter box narrows the checkbox list (ticked units stay in view).
  document.querySelectorAll("[data-unit-checks]").forEach(function (box) {
    var filter = box.querySelector(".unit-filter");
    var none = box.querySelector(".unit-none");
    if (!filter) return;
    filter.hidden = false;
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      var shown = 0;
      box.querySelectorAll(".unit-list label").forEach(function (l) {
        var hit = !q || l.textContent.toLowerCase().indexOf(q) >= 0 || l.querySelector("input").checked;
        l.hidden = !hit;
        if (hit) shown++;
      });
      if (none) none.hidden = shown > 0;
    });
    // Enter in the filter box narrows; it does not submit the form.
    filter.addEventListener("keydown", function (e) {
      if (e.key === "Enter") e.preventDefault();
    });
  });
})();
