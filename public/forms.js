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
})();
