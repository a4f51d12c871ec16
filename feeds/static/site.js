// The site's only script (pages allow no other, and no inline script): Copy
// buttons. <button data-copy="ID"> copies the text of element ID as plain
// text; <button data-copy-rich="ID"> copies the HTML held by element ID as
// rich text, so that pasting into a visual editor keeps the formatting. The
// next <span role="status"> says how it went, in the words of its data-done
// and data-failed attributes; a link's own address is what it copies.
// <input data-filter="CLASS"> (hidden until this script shows it, as it does
// nothing without it) hides the elements of that class whose data-name does
// not hold what is typed. A link to a closed <details> opens it.
(function () {
  var BLOCKS = "address,blockquote,dd,div,dl,dt,figcaption,figure,h1,h2,h3,h4,h5,h6,hr,li," +
               "ol,p,pre,table,tr,ul";
  // The text of some HTML, a blank line after each block, read off an inert
  // document: HTML put into this page, even into an element never attached,
  // fetches its images, the republication pixel among them.
  function plainOf(html) {
    var body = new DOMParser().parseFromString(html, "text/html").body;
    body.querySelectorAll(BLOCKS).forEach(function (block) { block.append("\u2029"); });
    body.querySelectorAll("br").forEach(function (br) { br.replaceWith("\u2028"); });
    return body.textContent.replace(/[ \t\n\r\f]+/g, " ")
      .replace(/ *\u2029[\u2029 ]*/g, "\n\n").replace(/ *\u2028 */g, "\n").trim();
  }
  function textOf(element) {
    return "value" in element ? element.value : element.href || element.textContent;
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
      var item = new ClipboardItem({
        "text/html": new Blob([html], {type: "text/html"}),
        "text/plain": new Blob([plainOf(html)], {type: "text/plain"})
      });
      navigator.clipboard.write([item]).then(function () { report(button, true); },
                                             function () { report(button, false); });
      return;
    }
    var listener = function (event) {
      event.clipboardData.setData("text/html", html);
      event.clipboardData.setData("text/plain", plainOf(html));
      event.preventDefault();
    };
    document.addEventListener("copy", listener);
    try { report(button, document.execCommand("copy")); } catch (e) { report(button, false); }
    document.removeEventListener("copy", listener);
  }
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var items = document.getElementsByClassName(input.dataset.filter);
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(items, function (item) {
        item.hidden = words !== "" && item.dataset.name.indexOf(words) < 0;
      });
    });
    input.closest("[hidden]").hidden = false;
  });
  function opened() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", opened);
  opened();
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy], button[data-copy-rich]");
    if (!button) { return; }
    var rich = button.hasAttribute("data-copy-rich");
    var element = document.getElementById(rich ? button.dataset.copyRich : button.dataset.copy);
    if (element) { (rich ? copyRich : copyPlain)(button, element); }
  });
})();
