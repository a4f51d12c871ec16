// The Republish block's Copy button: the site's only script (pages allow no
// other, and no inline script).
(function () {
  var button = document.getElementById("copy-republish");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var area = document.getElementById("republish-html");
    var status = document.getElementById("copy-status");
    function done(ok) { status.textContent = ok ? "Copied." : "Select the text and copy it."; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(function () { done(true); }, function () { done(false); });
    } else {
      area.focus(); area.select();
      try { done(document.execCommand("copy")); } catch (e) { done(false); }
    }
  });
})();
