// The site's only script (pages allow no other, and no inline script): Copy
// buttons. <button data-copy="ID"> copies the text of element ID as plain
// text; <button data-copy-rich="ID"> copies the HTML held by element ID as
// rich text, so that pasting into a visual editor keeps the formatting. The
// next <span role="status"> says how it went, in the words of its data-done
// and data-failed attributes.
(function () {
  function textOf(element) {
    return "value" in element ? element.value : element.textContent;
  }
  function report(button, ok) {
    var status = button.parentNode.querySelector("[role=status]");
    if (status) { status.textContent = ok ? status.dataset.done : status.dataset.failed; }
  }
  function select(element) {
    if (element.select) { element.focus(); element.select(); return; }
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function copyPlain(button, element) {
    var text = textOf(element);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { report(button, true); },
                                               function () { report(button, false); });
      return;
    }
    select(element);
    try { report(button, document.execCommand("copy")); } catch (e) { report(button, false); }
  }
  function copyRich(button, element) {
    var html = textOf(element);
    if (navigator.clipboard && window.ClipboardItem && window.isSecureContext) {
      var holder = document.createElement("div");
      holder.innerHTML = html;  // never attached to the page: only for its text
      var item = new ClipboardItem({
        "text/html": new Blob([html], {type: "text/html"}),
        "text/plain": new Blob([holder.textContent], {type: "text/plain"})
      });
      navigator.clipboard.write([item]).then(function () { report(button, true); },
                                             function () { report(button, false); });
      return;
    }
    var listener = function (event) {
      event.clipboardData.setData("text/html", html);
      event.clipboardData.setData("text/plain", html);
      event.preventDefault();
    };
    document.addEventListener("copy", listener);
    try { report(button, document.execCommand("copy")); } catch (e) { report(button, false); }
    document.removeEventListener("copy", listener);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy], button[data-copy-rich]");
    if (!button) { return; }
    var rich = button.hasAttribute("data-copy-rich");
    var element = document.getElementById(rich ? button.dataset.copyRich : button.dataset.copy);
    if (element) { (rich ? copyRich : copyPlain)(button, element); }
  });
})();
