/* The 打印 button of a printable document: shown only where script runs (without it the hint says Ctrl+P). */
(function () {
  var button = document.querySelector("[data-print]");
  if (!button) return;
  button.hidden = false;
  var hint = document.querySelector("[data-print-hint]");
  if (hint) hint.hidden = true;
  button.addEventListener("click", function () {
    window.print();
  });
})();
